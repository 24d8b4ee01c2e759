'use strict';
// Several worker threads use the binding at once (each loads it: one library, one Go
// runtime per process), with the synchronous and the asynchronous API, and the main
// thread generates at the same time. Every key set is distinct and verifies.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const ev = require('..');
const { SMALL, tempDir } = require('./helpers');

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const ev = require(workerData.pkg);
(async () => {
  const out = [];
  for (let i = 0; i < workerData.rounds; i++) {
    const gen = new ev.KeyGenerator({ keyId: workerData.name + '-' + i, ...workerData.small });
    const keys = i % 2 === 0 ? gen.generateKeysStreamSync() : await gen.generateKeysStream();
    const km = new ev.KeyManager({ keyPath: workerData.keyPath, keyId: workerData.name + '-' + i });
    if (i % 2 === 0) km.saveSync(keys); else await km.save(keys);
    out.push({ keyId: km.keyId, sec: JSON.parse(keys.secBlob).entries[0].hash.value });
    km.close();
  }
  parentPort.postMessage(out);
})().catch((e) => { throw e; });
`;

function runWorker(workerData) {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData });
    let result;
    w.on('message', (m) => { result = m; });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`worker ${workerData.name} exited with ${code}`))));
  });
}

test('key generation from several worker threads at once', async (t) => {
  const keyPath = tempDir(t);
  const pkg = path.join(__dirname, '..');
  // The workers make another small set than SMALL: ip3 with rmp, two dims.
  const small = { ...SMALL, preset: 'ip3', dimList: [32, 64] };
  const workers = ['w0', 'w1', 'w2', 'w3'].map((name) => runWorker({ pkg, keyPath, name, rounds: 3, small }));
  // The main thread works at the same time.
  const mainKeys = await Promise.all([0, 1, 2].map((i) => new ev.KeyGenerator({ keyId: `main-${i}`, ...SMALL }).generateKeysStream()));
  const results = (await Promise.all(workers)).flat();
  assert.equal(results.length, 12);
  const hashes = new Set([...results.map((r) => r.sec), ...mainKeys.map((k) => JSON.parse(k.secBlob).entries[0].hash.value)]);
  assert.equal(hashes.size, 15, 'every key set has its own SecKey');

  const km = new ev.KeyManager({ keyPath });
  t.after(() => km.close());
  const ids = await km.listKeys();
  assert.deepEqual(ids, results.map((r) => r.keyId).sort());
  await Promise.all(ids.map((keyId) => km.verify({ keyId })));
});

test('one KeyManager shared by many concurrent operations', async (t) => {
  const keyPath = tempDir(t);
  const km = new ev.KeyManager({ keyPath });
  t.after(() => km.close());
  const sets = await Promise.all([...Array(6).keys()].map((i) => new ev.KeyGenerator({ keyId: `c${i}`, ...SMALL }).generateKeysStream()));
  await Promise.all(sets.map((keys, i) => km.save(keys, { keyId: `c${i}` })));
  // Two saves of the same key set at once: one wins, the other is AlreadyExistsError.
  const same = await new ev.KeyGenerator({ keyId: 'race', ...SMALL }).generateKeysStream();
  const race = await Promise.allSettled([km.save(same, { keyId: 'race' }), km.save(same, { keyId: 'race' })]);
  assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1);
  assert.ok(race.find((r) => r.status === 'rejected').reason instanceof ev.AlreadyExistsError);
  const loaded = await Promise.all(sets.map((_, i) => km.load({ keyId: `c${i}` })));
  loaded.forEach((k, i) => assert.deepEqual(k.evalBlob, sets[i].evalBlob));
  // A burst far over koffi's limit of asynchronous calls under way (256) queues.
  const burst = await Promise.all([...Array(1000).keys()].map((i) => km.verifyKeyId(`c${i % 8}`)));
  assert.equal(burst.filter(Boolean).length, 750);
});

test('a KeyManager nobody closed is freed by the finalizer, quietly', () => {
  const script = `
    const ev = require(${JSON.stringify(path.join(__dirname, '..'))});
    process.on('warning', (w) => { console.error('WARNING', w.message); process.exitCode = 3; });
    (async () => {
      for (let i = 0; i < 50; i++) await new ev.KeyManager({ keyPath: ${JSON.stringify(require('node:os').tmpdir())} }).open();
      for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); }
      console.log('ok');
    })();
  `;
  const out = require('node:child_process').execFileSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  assert.equal(out.trim(), 'ok');
});
