'use strict';
// The documented workflows against the local store: KeyGenerator, KeyManager, init,
// sealing with a KEK file, and the life of a KeyManager handle.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ev = require('..');
const { SMALL, tempDir, kekFile, tree } = require('./helpers');

test('KeyGenerator.generateKeys writes <keyPath>/<keyId>/ and KeyManager reads it back', async (t) => {
  const keyPath = tempDir(t);
  await new ev.KeyGenerator({ keyPath, keyId: 'idx', ...SMALL }).generateKeys();
  assert.deepEqual(fs.readdirSync(path.join(keyPath, 'idx')).sort(), ['EncKey.json', 'EvalKey.json', 'MetadataKey.json', 'SecKey.json']);
  assert.equal(fs.statSync(path.join(keyPath, 'idx', 'SecKey.json')).mode & 0o777, 0o600);

  const km = new ev.KeyManager({ keyPath, keyId: 'idx' });
  t.after(() => km.close());
  assert.deepEqual(await km.listKeys(), ['idx']);
  assert.equal(await km.verifyKeyId(), true);
  assert.equal(await km.verifyKeyId('other'), false);
  const keys = await km.load();
  for (const [k, file] of [['secBlob', 'SecKey'], ['encBlob', 'EncKey'], ['evalBlob', 'EvalKey'], ['metadataBlob', 'MetadataKey']]) {
    assert.ok(Buffer.isBuffer(keys[k]), k);
    assert.deepEqual(keys[k], fs.readFileSync(path.join(keyPath, 'idx', `${file}.json`)), `${k} is the file's bytes`);
  }
  assert.equal(JSON.parse(keys.secBlob).kid, 'idx');
  assert.equal(await km.verify(), true);
});

test('generateKeysStream returns the four envelopes as Buffers; sync variant too', async () => {
  const gen = new ev.KeyGenerator({ keyId: 'stream', ...SMALL });
  for (const keys of [await gen.generateKeysStream(), gen.generateKeysStreamSync()]) {
    assert.deepEqual(Object.keys(keys), ['secBlob', 'encBlob', 'evalBlob', 'metadataBlob']);
    const formats = Object.values(keys).map((b) => JSON.parse(b).entries[0].name);
    assert.deepEqual(formats, ['seckey', 'enckey', 'evalkey', 'metadatakey']);
    // Each Buffer owns its memory: wiping one touches nothing else.
    const copy = Buffer.from(keys.encBlob);
    keys.secBlob.fill(0);
    assert.deepEqual(keys.encBlob, copy);
    assert.equal(keys.secBlob.buffer.byteLength, keys.secBlob.length);
  }
});

test('metadataEncryption false: no MetadataKey, metadataBlob null', async (t) => {
  const gen = new ev.KeyGenerator({ keyId: 'nometa', metadataEncryption: false, ...SMALL });
  const keys = await gen.generateKeysStream();
  assert.equal(keys.metadataBlob, null);
  const keyPath = tempDir(t);
  const km = new ev.KeyManager({ keyPath, keyId: 'nometa' });
  t.after(() => km.close());
  await km.save(keys);
  assert.deepEqual(fs.readdirSync(path.join(keyPath, 'nometa')).sort(), ['EncKey.json', 'EvalKey.json', 'SecKey.json']);
  assert.equal((await km.load()).metadataBlob, null);
});

test('the same seed gives the same keys; presets and eval modes pass through', async () => {
  // Another preset than SMALL's (ip3 with rmp, small and fast), its name in either case.
  const seed = Buffer.alloc(64, 7);
  const a = await new ev.KeyGenerator({ keyId: 's', seed, preset: 'ip3', evalMode: 'rmp', dimList: [32] }).generateKeysStream();
  const b = await new ev.KeyGenerator({ keyId: 's', seed: seed.toString('hex'), preset: 'IP3', evalMode: 'RMP', dimList: [32] }).generateKeysStream();
  const data = (buf) => JSON.parse(buf).entries[0].key_data;
  assert.equal(data(a.secBlob), data(b.secBlob));
  assert.equal(data(a.encBlob), data(b.encBlob));
  assert.equal(data(a.metadataBlob), data(b.metadataBlob));
  const meta = JSON.parse(a.evalBlob).entries[0].metadata;
  assert.equal(meta.parameter.preset, 'IP3');
  assert.equal(meta.parameter.Q, 1073692673);
  assert.equal(meta.eval_mode, 'RMP');
  const ours = JSON.parse(a.evalBlob).envector_keys;
  assert.deepEqual([ours.dims, ours.preset, ours.eval_mode, ours.key_format], ['32', 'IP3', 'RMP', 'evi']);
  // A SecKey in enVector's layout: 0x01, the preset name NUL-padded to 4 bytes, 2 bits a coefficient.
  const sec = Buffer.from(data(a.secBlob), 'base64');
  assert.equal(sec.length, 1029);
  assert.deepEqual(sec.subarray(0, 5), Buffer.from('\x01IP3\x00', 'latin1'));
  const dims = JSON.parse((await new ev.KeyGenerator({ keyId: 'd', dimList: [64, 128], preset: 'ip0', evalMode: 'single' }).generateKeysStream()).encBlob);
  assert.deepEqual([dims.envector_keys.dims, dims.envector_keys.eval_mode], ['64,128', 'SINGLE']);
});

test('the defaults are ip3 and mm32, checked without making a default key set', async (t) => {
  // The defaults (ip3, mm32, dims 32..4096, as enVector's SDK) make a 1.2 GB EvalKey
  // (seconds, and GBs of memory in memory): never made here. Each default is shown on its own, with small keys or a refusal.
  const keyPath = tempDir(t);
  // The default preset is ip3: with a small eval mode it is what the keys are made with ...
  let keys = await new ev.KeyGenerator({ keyId: 'd', evalMode: 'rmp', dimList: [32] }).generateKeysStream();
  assert.equal(JSON.parse(keys.evalBlob).entries[0].metadata.parameter.preset, 'IP3');
  // ... and an eval mode ip3 does not take is refused, by KeyGenerator and init alike.
  const notIP3 = /eval mode single does not go with preset ip3; accepted with ip3: mm32, rmp, flat, mms32/;
  await assert.rejects(new ev.KeyGenerator({ keyPath, keyId: 'd', evalMode: 'single' }).generateKeys(), notIP3);
  await assert.rejects(ev.init({ keyPath, keyId: 'd', evalMode: 'single' }), notIP3);
  // The default eval mode is the preset's: rmp with ip0 (the only small one); the library
  // says mm32 is ip3's default.
  keys = new ev.KeyGenerator({ keyId: 'd', preset: 'ip0', dimList: [32] }).generateKeysStreamSync();
  assert.equal(JSON.parse(keys.evalBlob).envector_keys.eval_mode, 'RMP');
  await assert.rejects(new ev.KeyGenerator({ keyId: 'd', evalMode: 'mm33' }).generateKeysStream(),
    /accepted: mm32 \(default with ip3\), mm \(default with ip1, ip2\), rmp \(default with ip0\)/);
  // The default dims are all of them (single: a relinearization key only, however many dims).
  keys = await new ev.KeyGenerator({ keyId: 'd', preset: 'ip0', evalMode: 'single' }).generateKeysStream();
  assert.equal(JSON.parse(keys.evalBlob).envector_keys.dims, '32,64,128,256,512,1024,2048,4096');
  assert.deepEqual(tree(keyPath), []);
});

test('a preset and eval mode that do not go together are InvalidArgumentError naming the accepted modes', async (t) => {
  const keyPath = tempDir(t);
  for (const [preset, evalMode, accepted] of [
    ['ip1', 'mm32', 'mm, rmp, flat, mms'],
    ['ip2', 'mm32', 'mm, rmp, flat, mms'],
    ['ip3', 'mm', 'mm32, rmp, flat, mms32'],
    ['ip3', 'single', 'mm32, rmp, flat, mms32'],
  ]) {
    const want = new RegExp(`eval mode ${evalMode} does not go with preset ${preset}; accepted with ${preset}: ${accepted}$`);
    const opts = { keyPath, keyId: 'pair', preset, evalMode, dimList: [32] };
    for (const make of [
      () => new ev.KeyGenerator(opts).generateKeys(),
      () => new ev.KeyGenerator(opts).generateKeysStream(),
      async () => new ev.KeyGenerator(opts).generateKeysSync(),
      () => ev.init(opts),
    ]) {
      await assert.rejects(make(), (e) => {
        assert.ok(e instanceof ev.InvalidArgumentError, `${preset}/${evalMode}: ${e.name}: ${e.message}`);
        assert.equal(e.code, 'ENVECTOR_ERR_INVALID_ARGUMENT');
        assert.equal(e.status, 1);
        assert.match(e.message, want);
        return true;
      });
    }
  }
  assert.deepEqual(tree(keyPath), [], 'nothing written');
});

test("another enVector preset: ip2 with flat generates, saves and verifies", async (t) => {
  const keyPath = tempDir(t);
  await new ev.KeyGenerator({ keyPath, keyId: 'ip2', preset: 'ip2', evalMode: 'flat', dimList: [32] }).generateKeys();
  const km = new ev.KeyManager({ keyPath, keyId: 'ip2' });
  t.after(() => km.close());
  assert.equal(await km.verify(), true);
  const keys = await km.load();
  for (const blob of Object.values(keys)) {
    const ours = JSON.parse(blob).envector_keys;
    assert.deepEqual([ours.preset, ours.eval_mode, ours.dims, ours.key_format], ['IP2', 'FLAT', '32', 'evi']);
  }
  const meta = JSON.parse(keys.evalBlob).entries[0].metadata;
  assert.deepEqual([meta.parameter.preset, meta.parameter.Q, meta.parameter.P, meta.eval_mode], ['IP2', 4294828033, 4294729729, 'FLAT']);
});

test('KeyManager save, load a subset, delete, list', async (t) => {
  const keyPath = tempDir(t);
  const keys = await new ev.KeyGenerator({ keyId: 'k1', ...SMALL }).generateKeysStream();
  const km = new ev.KeyManager({ keyPath, keyId: 'k1' });
  t.after(() => km.close());
  assert.deepEqual(await km.listKeys(), []);
  await km.save(keys);
  await assert.rejects(km.save(keys), ev.AlreadyExistsError);
  const pub = await km.load({ roles: ['EncKey', 'EvalKey'] });
  assert.equal(pub.secBlob, null);
  assert.equal(pub.metadataBlob, null);
  assert.deepEqual(pub.evalBlob, keys.evalBlob);

  const keys2 = await new ev.KeyGenerator({ keyId: 'k0', ...SMALL }).generateKeysStream();
  await km.save(keys2, { keyId: 'k0' });
  assert.deepEqual(await km.listKeys(), ['k0', 'k1']);
  await km.delete();
  assert.deepEqual(await km.listKeys(), ['k0']);
  await assert.rejects(km.delete(), ev.NotFoundError);
  await assert.rejects(km.load(), (e) => e instanceof ev.NotFoundError && e.message.includes(path.join(keyPath, 'k1')));
  assert.equal(km.verifyKeyIdSync('k0'), true);
  assert.deepEqual(km.listKeysSync(), ['k0']);
  km.deleteSync({ keyId: 'k0' });
  assert.deepEqual(km.listKeysSync(), []);
});

test('sealing with a KEK file (hex, base64, raw): sealed at rest, verify needs the KEK', async (t) => {
  const dir = tempDir(t);
  for (const form of ['hex', 'base64', 'raw']) {
    const kek = kekFile(dir, form);
    const keyPath = path.join(dir, `keys-${form}`);
    await new ev.KeyGenerator({ keyPath, keyId: 'sealed', sealMode: 'aes', sealKekPath: kek, ...SMALL }).generateKeys();
    const sec = JSON.parse(fs.readFileSync(path.join(keyPath, 'sealed', 'SecKey.json')));
    assert.equal(sec.entries[0].alg, 'AES-KEK', form);
    assert.equal(sec.entries[0].name, 'seckey.sealed', form);
    assert.equal(JSON.parse(fs.readFileSync(path.join(keyPath, 'sealed', 'EvalKey.json'))).entries[0].alg, undefined);

    const km = new ev.KeyManager({ keyPath, keyId: 'sealed' });
    assert.equal(await km.verify({ sealKekPath: kek }), true);
    assert.equal(km.verifySync({ kek: fs.readFileSync(kek) }), true);
    await assert.rejects(km.verify(), (e) => e instanceof ev.InvalidArgumentError && /KEK|kek/.test(e.message));
    const wrong = kekFile(dir, form, `wrong-${form}`);
    await assert.rejects(km.verify({ sealKekPath: wrong }), (e) => {
      assert.ok(e instanceof ev.AuthenticationError, `${e.name}: ${e.message}`);
      assert.equal(e.code, 'ENVECTOR_ERR_AUTH');
      assert.match(e.message, /sealed/);
      return true;
    });
    km.close();
  }
});

test('generateKeysStream with sealMode aes returns sealed secrets', async (t) => {
  const kek = kekFile(tempDir(t));
  const keys = await new ev.KeyGenerator({ keyId: 'sx', sealMode: 'aes', sealKekPath: kek, ...SMALL }).generateKeysStream();
  assert.equal(JSON.parse(keys.secBlob).entries[0].alg, 'AES-KEK');
  assert.equal(JSON.parse(keys.metadataBlob).entries[0].alg, 'AES-256-GCM');
  assert.equal(JSON.parse(keys.encBlob).entries[0].alg, undefined);
});

test('init: auto key setup makes, saves and registers once; then finds the keys', async (t) => {
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  const kek = kekFile(dir);
  const calls = [];
  const register = async (keyId, evalKey, info) => {
    calls.push({ keyId, evalKey, info });
  };
  const opts = { keyPath, keyId: 'auto', sealMode: 'aes', sealKekPath: kek, register, ...SMALL };
  const first = await ev.init(opts);
  assert.equal(first.created, true);
  assert.equal(first.registered, true);
  assert.equal(first.sealed, true);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].keyId, 'auto');
  assert.deepEqual(calls[0].evalKey, first.keys.evalBlob);
  assert.equal(JSON.parse(calls[0].evalKey).entries[0].name, 'evalkey');
  assert.deepEqual(calls[0].info, {
    keyId: 'auto', keyPath, sealMode: 'aes', sealKekPath: kek, preset: 'ip0', evalMode: 'rmp', dimList: [32], sealed: true,
    envectorPreset: 'IP0', envectorEvalMode: 'RMP', created: true, evalKeySha256: first.evalKeySha256, evalKeySize: first.evalKeySize,
  });
  assert.deepEqual(calls[0].info, { ...calls[0].info, ...first.registrationInfo });
  assert.deepEqual([first.preset, first.evalMode, first.dimList, first.version], ['ip0', 'rmp', [32], 1]);
  assert.equal(first.address, null);
  assert.deepEqual(first.keys.secBlob, fs.readFileSync(path.join(keyPath, 'auto', 'SecKey.json')));

  const again = await ev.initIndexConfig(opts);
  assert.equal(again.created, false);
  assert.equal(again.registered, false);
  assert.equal(calls.length, 1, 'register is not called for an existing key set');
  assert.deepEqual(again.keys.evalBlob, first.keys.evalBlob);

  // A wrong KEK for the existing sealed key set fails now, not at first use.
  await assert.rejects(ev.init({ ...opts, sealKekPath: kekFile(dir, 'hex', 'other') }), ev.AuthenticationError);
  // A sealed key set found with no KEK is refused: init checks that the KEK opens it.
  await assert.rejects(ev.init({ keyPath, keyId: 'auto' }), (e) => e instanceof ev.InvalidArgumentError && /are sealed: give the KEK/.test(e.message));
  // With autoKeySetup false, existing keys are simply found.
  assert.equal((await ev.init({ keyPath, keyId: 'auto', autoKeySetup: false, sealMode: 'aes', sealKekPath: kek })).created, false);
});

test('init: autoKeySetup false with no keys is a NotFoundError naming where it looked', async (t) => {
  const keyPath = tempDir(t);
  await assert.rejects(ev.init({ keyPath, keyId: 'missing', autoKeySetup: false }), (e) => {
    assert.ok(e instanceof ev.NotFoundError);
    assert.equal(e.code, 'ENVECTOR_ERR_NOT_FOUND');
    assert.match(e.message, /auto key setup is off, so none is made: create it first/);
    assert.ok(e.message.includes(path.join(keyPath, 'missing', 'SecKey.json')), e.message);
    return true;
  });
  assert.deepEqual(tree(keyPath), []);
});

test('init: a failing register leaves no key set behind, so a retry starts clean', async (t) => {
  const keyPath = tempDir(t);
  const boom = new Error('search server unavailable');
  await assert.rejects(ev.init({ keyPath, keyId: 'r', register: () => { throw boom; }, ...SMALL }), (e) => e === boom);
  assert.deepEqual(tree(keyPath), []);
  let registered = 0;
  const ok = await ev.init({ keyPath, keyId: 'r', register: () => { registered++; }, ...SMALL });
  assert.equal(ok.created, true);
  assert.equal(registered, 1);
});

test('init: two at once for the same key set: one makes and registers it, the other uses it', async (t) => {
  const keyPath = tempDir(t);
  let registered = 0;
  const opts = { keyPath, keyId: 'race', register: () => { registered++; }, ...SMALL };
  const [a, b] = await Promise.all([ev.init(opts), ev.init(opts)]);
  assert.deepEqual([a.created, b.created].sort(), [false, true]);
  assert.equal(registered, 1);
  assert.deepEqual(a.keys, b.keys);
});

test('init without register, and without MetadataKey', async (t) => {
  const keyPath = tempDir(t);
  const r = await ev.init({ keyPath, keyId: 'plain', metadataEncryption: false, ...SMALL });
  assert.equal(r.created, true);
  assert.equal(r.registered, false);
  assert.equal(r.sealed, false);
  assert.equal(r.keys.metadataBlob, null);
});

test('KeyManager: close is idempotent, use after close is a ClosedError', async (t) => {
  const keyPath = tempDir(t);
  const km = new ev.KeyManager({ keyPath });
  assert.deepEqual(await km.listKeys(), []);
  assert.equal(km.closed, false);
  km.close();
  km.close();
  assert.equal(km.closed, true);
  await assert.rejects(km.listKeys(), (e) => e instanceof ev.ClosedError && e instanceof ev.InvalidArgumentError && /closed/.test(e.message));
  assert.throws(() => km.listKeysSync(), ev.ClosedError);
  assert.throws(() => km.openSync(), ev.ClosedError);
  // Closing one that never opened its store is fine too.
  const never = new ev.KeyManager({ keyPath });
  never.close();
  await assert.rejects(never.verifyKeyId('x'), ev.ClosedError);
  // close() while an operation is under way: the operation finishes or fails cleanly.
  const busy = new ev.KeyManager({ keyPath });
  const p = busy.listKeys();
  busy.close();
  await p.then((ids) => assert.deepEqual(ids, []), (e) => assert.ok(e instanceof ev.ClosedError));
  // A later step of an operation under way meets the freed handle: ClosedError, nothing saved.
  const keys = await new ev.KeyGenerator({ keyId: 'mid', ...SMALL }).generateKeysStream();
  const mid = await new ev.KeyManager({ keyPath, keyId: 'mid' }).open();
  const saving = mid.save(keys);
  mid.close();
  await assert.rejects(saving, (e) => e instanceof ev.ClosedError && /closed during the operation/.test(e.message));
  assert.deepEqual(tree(keyPath), []);
});

test('KeyManager with using-style disposal and open()', async (t) => {
  const keyPath = tempDir(t);
  const km = await new ev.KeyManager({ keyPath }).open();
  km[Symbol.dispose]();
  assert.equal(km.closed, true);
});

test('the library version and path are reported', () => {
  assert.match(ev.libraryVersion(), /^\d+\.\d+\.\d+$/);
  assert.ok(ev.libraryPath.includes('libenvector.so'));
  assert.deepEqual(ev.ROLES, ['SecKey', 'EncKey', 'EvalKey', 'MetadataKey']);
});
