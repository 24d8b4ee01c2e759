#!/usr/bin/env node
'use strict';
// generateKeysStream() against the Go API, in the same run, interleaved in blocks so
// both see the same machine. The Go side is internal/benchbase (core.Generate, then
// KeySet.Blob of every role with preset ip0, eval mode rmp, dims 32..4096, MetadataKey),
// built once with `go build` and run as `benchbase -n BLOCK -preset ip0 -eval_mode rmp`
// between the Node blocks; it reports each iteration's time itself (after one warm-up),
// so process start-up is not counted. The Node side times each `await
// generateKeysStream()` with the same options (key id "bench", preset ip0, eval mode
// rmp). Not the defaults (ip3 with mm32, as enVector's SDK): their 1.2 GB EvalKey takes
// ~12 s and ~5 GB of memory each time in memory.
//
// A third series, generateKeysStreamSync() in a worker thread (every C call made
// directly, off the main thread), separates what the binding's asynchrony costs (the
// round trips of koffi's asynchronous calls) from what calling the library from a
// non-Go host costs.
//
// Also measures one synchronous tiny call from the main thread: envector_version
// (stays in C) and envector_error_code on a handle that is not an error (enters Go),
// and the same Go call from a worker thread, where it is cheap.
//
// The library sets its garbage collector to GOGC 200 unless the host sets GOGC
// (capi/gc.go); the baseline runs with Go's default (100), as a Go program would.
// --baseline-gogc 200 runs the baseline with the library's setting instead, which
// isolates the cost of the binding from the collector setting.
//
//   node bench/bench_stream.js [--blocks 8] [--block 10] [--baseline-gogc N] [--json]

const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { Worker } = require('node:worker_threads');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const BLOCKS = arg('blocks', 8);
const BLOCK = arg('block', 10);
const BASELINE_GOGC = arg('baseline-gogc', 0);
const JSON_OUT = process.argv.includes('--json');

const ev = require('..');
const { fn } = require('../lib/native');

// The key set timed: ip0, rmp, all dims (~0.1 s), the same on every side.
const OPTIONS = Object.freeze({ keyId: 'bench', preset: 'ip0', evalMode: 'rmp' });
const { repositoryRoot } = require('../lib/locate');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function buildBaseline() {
  const root = repositoryRoot();
  if (!root) throw new Error('bench_stream.js runs in a checkout of envector-keys (it needs internal/benchbase)');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'envector-bench-')), 'benchbase');
  execFileSync(process.env.GO || 'go', ['build', '-o', out, './internal/benchbase'], { cwd: root, stdio: 'inherit' });
  return out;
}

function goBlock(bin, n) {
  const env = { ...process.env };
  delete env.GOGC; // the baseline runs with Go's defaults whatever this process got,
  if (BASELINE_GOGC > 0) env.GOGC = String(BASELINE_GOGC); // unless asked otherwise
  const out = execFileSync(bin, ['-n', String(n), '-preset', OPTIONS.preset, '-eval_mode', OPTIONS.evalMode], { encoding: 'utf8', env });
  return JSON.parse(out).ns.map((ns) => ns / 1e6);
}

async function nodeBlock(gen, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await gen.generateKeysStream();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

// A worker thread that runs blocks of generateKeysStreamSync() on request.
function startSyncWorker() {
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const ev = require(workerData.pkg);
    const gen = new ev.KeyGenerator(workerData.options);
    parentPort.on('message', (n) => {
      const times = [];
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        gen.generateKeysStreamSync();
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      parentPort.postMessage(times);
    });
  `, { eval: true, workerData: { pkg: path.join(__dirname, '..'), options: { ...OPTIONS } } });
  let pending = null;
  w.on('message', (times) => pending.resolve(times));
  w.on('error', (e) => pending.reject(e));
  return {
    block: (n) => new Promise((resolve, reject) => {
      pending = { resolve, reject };
      w.postMessage(n);
    }),
    stop: () => w.terminate(),
  };
}

function perCallMicros(f, n) {
  f();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t0) / n / 1e3;
}

// A value the library never returned as an error handle: envector_error_code enters Go,
// finds nothing, and returns INVALID_ARGUMENT.
const NOT_AN_ERROR = 0x7fffffffn;

function workerGoCallMicros(n) {
  return new Promise((resolve, reject) => {
    const w = new Worker(`
      const { parentPort, workerData } = require('node:worker_threads');
      const { fn } = require(workerData.native);
      const f = () => fn.envector_error_code(workerData.h);
      f();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < workerData.n; i++) f();
      parentPort.postMessage(Number(process.hrtime.bigint() - t0) / workerData.n / 1e3);
    `, { eval: true, workerData: { native: path.join(__dirname, '..', 'lib', 'native.js'), h: NOT_AN_ERROR, n } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

async function main() {
  const bin = buildBaseline();
  const gen = new ev.KeyGenerator(OPTIONS);
  const worker = startSyncWorker();
  await nodeBlock(gen, 2); // warm: library, koffi worker threads, allocator
  await worker.block(2);
  const node = [];
  const go = [];
  const sync = [];
  const blockRatios = [];
  const sides = [
    async () => node.push(...await nodeBlock(gen, BLOCK)),
    async () => go.push(...goBlock(bin, BLOCK)),
    async () => sync.push(...await worker.block(BLOCK)),
  ];
  for (let b = 0; b < BLOCKS; b++) {
    // Rotate which side goes first.
    for (let i = 0; i < sides.length; i++) await sides[(b + i) % sides.length]();
    blockRatios.push(median(node.slice(-BLOCK)) / median(go.slice(-BLOCK)));
  }
  await worker.stop();
  fs.rmSync(path.dirname(bin), { recursive: true, force: true });

  const syncC = perCallMicros(() => fn.envector_version(), 200000);
  const syncGo = perCallMicros(() => fn.envector_error_code(NOT_AN_ERROR), 2000);
  const workerGo = await workerGoCallMicros(20000);

  const result = {
    iterations: node.length,
    blocks: BLOCKS,
    nodeMedianMs: median(node),
    goMedianMs: median(go),
    workerSyncMedianMs: median(sync),
    ratio: median(node) / median(go),
    medianBlockRatio: median(blockRatios),
    syncVersionMainUs: syncC,
    syncGoCallMainUs: syncGo,
    syncGoCallWorkerUs: workerGo,
  };
  if (JSON_OUT) {
    console.log(JSON.stringify(result));
    return;
  }
  const f = (x, d = 2) => x.toFixed(d);
  console.log(`generateKeysStream() vs Go API (core.Generate + Blob of every role), ${OPTIONS.preset}/${OPTIONS.evalMode}, dims 32..4096, ${node.length} iterations each in ${BLOCKS} interleaved blocks; baseline GOGC ${BASELINE_GOGC || "default (100)"}`);
  console.log(`  node  median ${f(result.nodeMedianMs)} ms`);
  console.log(`  go    median ${f(result.goMedianMs)} ms`);
  console.log(`  ratio node/go ${f(result.ratio, 3)}x (median of per-block ratios ${f(result.medianBlockRatio, 3)}x; aim <= 1.1x)`);
  console.log(`  generateKeysStreamSync() in a worker thread: median ${f(result.workerSyncMedianMs)} ms = ${f(result.workerSyncMedianMs / result.goMedianMs, 3)}x go`);
  console.log('one synchronous call from the main thread:');
  console.log(`  envector_version (stays in C)        ${f(syncC, 3)} us`);
  console.log(`  envector_error_code (enters Go)      ${f(syncGo, 1)} us`);
  console.log(`  the same Go call from a worker thread ${f(workerGo, 2)} us`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
