'use strict';
// The event loop keeps turning while a key set is generated and saved: a 1 ms interval
// timer keeps firing during the asynchronous calls, and (for contrast) cannot fire
// during the synchronous ones.

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const ev = require('..');
const { SMALL, tempDir } = require('./helpers');

// ticksDuring counts the firings of a 1 ms interval timer while work() runs, and the
// longest gap between two of them.
async function ticksDuring(work) {
  let ticks = 0;
  let last = process.hrtime.bigint();
  let longest = 0;
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    longest = Math.max(longest, Number(now - last) / 1e6);
    last = now;
    ticks++;
  }, 1);
  const t0 = process.hrtime.bigint();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return { ticks, ms: Number(process.hrtime.bigint() - t0) / 1e6, longestGapMs: longest };
}

test('a timer keeps firing while keys are generated and saved (async)', async (t) => {
  const dir = tempDir(t);
  // A small key set (~50 ms to make, save and load) several times: long enough to count ticks.
  const r = await ticksDuring(async () => {
    for (let i = 0; i < 4; i++) {
      await new ev.KeyGenerator({ keyPath: dir, keyId: `loop${i}`, ...SMALL }).generateKeys();
      const km = new ev.KeyManager({ keyPath: dir, keyId: `loop${i}` });
      await km.load();
      km.close();
    }
  });
  t.diagnostic(`async: ${r.ticks} ticks in ${r.ms.toFixed(1)} ms, longest gap ${r.longestGapMs.toFixed(1)} ms`);
  // A loop that turned at most a few times would give a handful of ticks.
  assert.ok(r.ticks >= 10, `the timer fired only ${r.ticks} times in ${r.ms.toFixed(1)} ms`);
  assert.ok(r.ticks >= r.ms / 20, `the timer fired ${r.ticks} times in ${r.ms.toFixed(1)} ms (expected one every few ms)`);
});

test('a timer keeps firing during generateKeysStream and init (async)', async (t) => {
  const dir = tempDir(t);
  const r = await ticksDuring(async () => {
    for (let i = 0; i < 4; i++) await new ev.KeyGenerator({ keyId: 's', ...SMALL }).generateKeysStream();
    await ev.init({ keyPath: path.join(dir, 'k'), keyId: 'i', ...SMALL });
  });
  t.diagnostic(`async: ${r.ticks} ticks in ${r.ms.toFixed(1)} ms, longest gap ${r.longestGapMs.toFixed(1)} ms`);
  assert.ok(r.ticks >= 10 && r.ticks >= r.ms / 20, `the timer fired ${r.ticks} times in ${r.ms.toFixed(1)} ms`);
});

test('for contrast: the synchronous variant blocks the loop', async (t) => {
  const dir = tempDir(t);
  const r = await ticksDuring(async () => {
    for (let i = 0; i < 4; i++) new ev.KeyGenerator({ keyPath: dir, keyId: `sync${i}`, ...SMALL }).generateKeysSync();
  });
  t.diagnostic(`sync: ${r.ticks} ticks in ${r.ms.toFixed(1)} ms`);
  assert.ok(r.ticks <= 1, `the timer fired ${r.ticks} times during synchronous calls`);
});
