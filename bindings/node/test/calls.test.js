'use strict';
// How the asynchronous API calls the library: never synchronously into Go from the
// main thread (each such call costs ~0.1 ms there), and few calls per operation. The
// koffi functions are wrapped to count calls (sync and async) per function.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { fn } = require('../lib/native');
const { SMALL, tempDir, kekFile } = require('./helpers');

// Functions that stay in C (envector.c): calling them from the main thread is cheap.
const C_ONLY = new Set(['envector_version', 'envector_bytes_free', 'envector_string_free', 'envector_string_list_free']);
const sync = {};
const async = {};
for (const [name, f] of Object.entries(fn)) {
  const wrapped = (...a) => {
    if (!C_ONLY.has(name)) sync[name] = (sync[name] || 0) + 1;
    return f(...a);
  };
  wrapped.async = (...a) => {
    async[name] = (async[name] || 0) + 1;
    return f.async(...a);
  };
  fn[name] = wrapped;
}
const ev = require('..');

async function counted(work) {
  for (const k of Object.keys(sync)) delete sync[k];
  for (const k of Object.keys(async)) delete async[k];
  await work();
  await new Promise((r) => setTimeout(r, 20)); // detached frees
  return { sync: { ...sync }, async: { ...async } };
}

test('the async API never calls into Go synchronously, and makes few calls per operation', async (t) => {
  const dir = tempDir(t);
  const kek = kekFile(dir);
  let keys;

  let c = await counted(async () => { keys = await new ev.KeyGenerator({ keyId: 'a', ...SMALL }).generateKeysStream(); });
  assert.deepEqual(c.sync, {});
  assert.deepEqual(c.async, { envector_keygen: 1, envector_keyset_blobs: 1, envector_keyset_free: 1 });

  c = await counted(() => new ev.KeyGenerator({ keyId: 'b', keyPath: dir, sealMode: 'aes', sealKekPath: kek, ...SMALL }).generateKeys());
  assert.deepEqual(c.sync, {});
  assert.deepEqual(c.async, { envector_keygen: 1, envector_store_open: 1, envector_store_save: 1, envector_keyset_free: 1, envector_store_free: 1 });

  const km = new ev.KeyManager({ keyPath: dir, keyId: 'a' });
  c = await counted(() => km.save(keys));
  assert.deepEqual(c.async, { envector_store_open: 1, envector_keyset_from_blobs: 1, envector_store_save: 1, envector_keyset_free: 1 });
  c = await counted(() => km.load());
  assert.deepEqual(c.async, { envector_store_load: 1, envector_keyset_blobs: 1, envector_keyset_free: 1 });
  c = await counted(() => km.verifyKeyId());
  assert.deepEqual(c.async, { envector_store_exists: 1 });
  c = await counted(() => km.listKeys());
  assert.deepEqual(c.async, { envector_store_list: 1 });
  c = await counted(() => km.verify({ keyId: 'b', sealKekPath: kek }));
  assert.deepEqual(c.async, { envector_store_load: 1, envector_keyset_verify: 1, envector_keyset_free: 1 });
  c = await counted(() => assert.rejects(km.load({ keyId: 'nope' }), ev.NotFoundError));
  assert.deepEqual(c.async, { envector_store_load: 1, envector_error_message: 1, envector_error_free: 1 });
  c = await counted(async () => km.close());
  assert.deepEqual(c.async, { envector_store_free: 1 });

  c = await counted(() => ev.init({ keyPath: dir, keyId: 'c', register: () => {}, ...SMALL }));
  assert.deepEqual(c.sync, {});
  // One call does the init flow; the register callback needs the EvalKey envelope read
  // back from the store.
  assert.deepEqual(c.async, {
    envector_init: 1,
    envector_store_open: 1,
    envector_store_load: 1,
    envector_keyset_blobs: 1,
    envector_keyset_free: 1,
    envector_store_free: 1,
  });
  assert.ok(fs.existsSync(path.join(dir, 'c', 'SecKey.json')));
  c = await counted(() => ev.init({ keyPath: dir, keyId: 'd', ...SMALL }));
  assert.deepEqual(c.sync, {});
  assert.deepEqual(c.async, { envector_init: 1 });
  c = await counted(() => assert.rejects(ev.init({ keyPath: dir, keyId: 'e', autoKeySetup: false }), ev.NotFoundError));
  assert.deepEqual(c.async, { envector_init: 1, envector_error_message: 1, envector_error_free: 1 });
});

test('the sync API makes the same calls on the calling thread', (t) => {
  const dir = tempDir(t);
  const c = { before: { ...sync } };
  new ev.KeyGenerator({ keyId: 's', keyPath: dir, ...SMALL }).generateKeysSync();
  const km = new ev.KeyManager({ keyPath: dir, keyId: 's' });
  km.loadSync();
  km.close();
  ev.initSync({ keyPath: dir, keyId: 's' });
  const diff = Object.fromEntries(Object.entries(sync).map(([k, v]) => [k, v - (c.before[k] || 0)]).filter(([, v]) => v > 0));
  assert.deepEqual(diff, {
    envector_keygen: 1,
    envector_store_open: 2,
    envector_store_save: 1,
    envector_keyset_free: 2,
    envector_store_free: 1,
    envector_store_load: 1,
    envector_keyset_blobs: 1,
    envector_init: 1,
  });
});
