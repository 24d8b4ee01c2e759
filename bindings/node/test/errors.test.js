'use strict';
// Bad inputs: the right Error class and code, a message that says what is wrong and
// what is accepted, and nothing written.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ev = require('..');
const { SMALL, tempDir, kekFile, tree } = require('./helpers');

// expectError checks class, code, status and message of what fn rejects with (or throws).
async function expectError(fn, cls, pattern) {
  let caught;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected ${cls.name}, nothing was thrown`);
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught && caught.name}: ${caught && caught.message}`);
  assert.ok(caught instanceof ev.EnvectorError);
  assert.ok(caught instanceof Error);
  assert.equal(caught.name, cls.name);
  assert.match(caught.code, /^ENVECTOR_ERR_/);
  assert.equal(typeof caught.status, 'number');
  assert.match(caught.message, pattern);
  return caught;
}

test('error classes map the C status codes', () => {
  const table = [
    [ev.InvalidArgumentError, 1, 'ENVECTOR_ERR_INVALID_ARGUMENT'],
    [ev.NotFoundError, 2, 'ENVECTOR_ERR_NOT_FOUND'],
    [ev.AlreadyExistsError, 3, 'ENVECTOR_ERR_ALREADY_EXISTS'],
    [ev.AuthenticationError, 4, 'ENVECTOR_ERR_AUTH'],
    [ev.CorruptDataError, 5, 'ENVECTOR_ERR_CORRUPT'],
    [ev.StorageIOError, 6, 'ENVECTOR_ERR_IO'],
    [ev.RemoteStoreError, 7, 'ENVECTOR_ERR_REMOTE'],
    [ev.InternalError, 8, 'ENVECTOR_ERR_INTERNAL'],
    [ev.KeyInactiveError, 9, 'ENVECTOR_ERR_KEY_INACTIVE'],
  ];
  const { fromStatus } = require('../lib/errors');
  for (const [cls, status, code] of table) {
    const e = new cls('m');
    assert.equal(e.status, status);
    assert.equal(e.code, code);
    assert.equal(e.name, cls.name);
    assert.ok(e instanceof ev.EnvectorError);
    const mapped = fromStatus(status, 'm');
    assert.equal(mapped.constructor, cls);
    assert.equal(mapped.message, 'm');
  }
  const unknown = fromStatus(42, 'm');
  assert.ok(unknown instanceof ev.InternalError);
  assert.equal(unknown.status, 42);
  assert.match(unknown.message, /unknown status 42/);
});

test('every export is a named export of the ES module too', async () => {
  // Node's ESM loader finds the names of a CommonJS module by reading its source: each
  // export must be a plain name there (no `a: b.c`), or it is missing from
  // `import { ... } from 'envector-keys'`.
  const esm = await import(require.resolve('..'));
  for (const name of Object.keys(ev)) {
    assert.ok(name in esm, `${name} is not a named export of the ES module`);
    assert.equal(esm[name], ev[name], name);
  }
  assert.equal(esm.KeyInactiveError, ev.KeyInactiveError);
});

test('KeyGenerator: bad key options are InvalidArgumentError, nothing written', async (t) => {
  const keyPath = tempDir(t);
  const cases = [
    [{ keyId: 'a', dimList: [33] }, /dim 33 is not accepted; accepted: powers of two from 32 to 4096/],
    [{ keyId: 'a', dimList: [] }, /dim/],
    [{ keyId: 'a', dimList: 'all' }, /^KeyGenerator\.generateKeys(Stream)?(Sync)?: options: dimList must be an array of integers/],
    [{ keyId: 'a', preset: 'ip9' }, /unknown preset "ip9"; accepted: ip0, ip1, ip2, ip3 \(default\)/],
    [{ keyId: 'a', preset: 'ip4' }, /preset ip4 is not supported/],
    [{ keyId: 'a', evalMode: 'xx' }, /unknown eval mode "xx"; accepted: mm32 \(default with ip3\), mm \(default with ip1, ip2\), rmp/],
    [{ keyId: 'a', preset: 'qf0', evalMode: 'mms32' }, /mms and mms32 with qf0 are read, not yet generated/],
    [{ keyId: 'a', sealMode: 'rsa' }, /sealMode "rsa" is not accepted; accepted: none, aes/],
    [{ keyId: 'a', metadataEncryption: 'yes' }, /^KeyGenerator: metadataEncryption must be true or false, not "yes"/],
    [{ keyId: 'a', seed: 'abc' }, /seed/],
    [{ keyId: '../escape' }, /key id "..\/escape" is not accepted/],
    [{ keyId: 'a', sealMode: 'aes' }, /^KeyGenerator: sealMode 'aes' needs the KEK: give kek \(.*\) or sealKekPath \(the file holding it\)$/],
  ];
  for (const [opts, pattern] of cases) {
    // Refused when the KeyGenerator is made (the binding's checks) or when keys are made
    // (the library's): either way before anything is written.
    const gen = () => new ev.KeyGenerator({ keyPath, ...SMALL, ...opts });
    await expectError(() => gen().generateKeys(), ev.InvalidArgumentError, pattern);
    await expectError(() => gen().generateKeysStream(), ev.InvalidArgumentError, pattern);
    await expectError(() => gen().generateKeysSync(), ev.InvalidArgumentError, pattern);
    await expectError(() => gen().generateKeysStreamSync(), ev.InvalidArgumentError, pattern);
  }
  assert.deepEqual(tree(keyPath), [], 'nothing written');
});

test('unknown or misspelled options are refused in JavaScript, naming the accepted ones', async () => {
  await expectError(() => new ev.KeyGenerator({ keyid: 'x' }), ev.InvalidArgumentError, /unknown option "keyid" \(did you mean keyId\?\); accepted: keyPath, keyId/);
  await expectError(() => new ev.KeyManager({ region: 'us-east-1' }), ev.InvalidArgumentError, /unknown option "region" \(did you mean regionName\?\); accepted: keyId, keyStore, keyPath, regionName/);
  await expectError(() => ev.init({ keyId: 'x', auto_key_setup: false }), ev.InvalidArgumentError, /unknown option "auto_key_setup" \(did you mean autoKeySetup\?\)/);
  await expectError(() => new ev.KeyGenerator({}), ev.InvalidArgumentError, /keyId is required/);
  await expectError(() => new ev.KeyGenerator('k'), ev.InvalidArgumentError, /options must be an object/);
  await expectError(() => ev.init({ keyId: 'x', register: 'http://server' }), ev.InvalidArgumentError, /register must be a function/);
  await expectError(() => ev.init({ keyId: 'x', autoKeySetup: 'no' }), ev.InvalidArgumentError, /autoKeySetup must be true or false/);
  await expectError(() => new ev.KeyManager({ keyStore: 'gcs' }).listKeys(), ev.InvalidArgumentError, /^KeyManager\.listKeys: options: keyStore "gcs" is not accepted; accepted: local, aws$/);
  await expectError(() => new ev.KeyManager({ keyStore: 'aws' }).listKeys(), ev.InvalidArgumentError, /region/);
});

test('KEK files: missing is NotFoundError, malformed is InvalidArgumentError naming the forms; never truncated', async (t) => {
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  const missing = path.join(dir, 'no-such-kek');
  await expectError(() => new ev.KeyGenerator({ keyPath, keyId: 'a', sealMode: 'aes', sealKekPath: missing, ...SMALL }).generateKeys(), ev.NotFoundError, /no-such-kek/);
  const bad = {
    short: Buffer.alloc(31, 1),
    long: `${'ab'.repeat(33)}\n`,
    twoNewlines: `${'ab'.repeat(32)}\n\n`,
    notHex: `${'zz'.repeat(32)}\n`,
  };
  for (const [name, data] of Object.entries(bad)) {
    const p = path.join(dir, name);
    fs.writeFileSync(p, data);
    const e = await expectError(
      () => new ev.KeyGenerator({ keyPath, keyId: 'a', sealMode: 'aes', sealKekPath: p, ...SMALL }).generateKeys(),
      ev.InvalidArgumentError,
      /32 raw bytes|64 hex|base64/,
    );
    assert.ok(!e.message.includes('abab'), 'the KEK is not echoed');
  }
  const good = kekFile(dir);
  // A KEK file with sealMode 'none' is refused: no plain keys by mistake.
  await expectError(() => new ev.KeyGenerator({ keyPath, keyId: 'a', sealMode: 'none', sealKekPath: good, ...SMALL }).generateKeys(), ev.InvalidArgumentError, /sealMode is 'none' but sealKekPath is given/);
  assert.deepEqual(tree(keyPath), [], 'nothing written');
});

test('KeyManager: corrupt, foreign or mislabelled blobs are refused; nothing written', async (t) => {
  const keyPath = tempDir(t);
  const km = new ev.KeyManager({ keyPath, keyId: 'k' });
  t.after(() => km.close());
  const keys = await new ev.KeyGenerator({ keyId: 'k', ...SMALL }).generateKeysStream();

  const flipped = Buffer.from(keys.evalBlob);
  const i = flipped.indexOf('"key_data":"') + 20;
  flipped[i] = flipped[i] === 0x41 ? 0x42 : 0x41;
  await expectError(() => km.save({ ...keys, evalBlob: flipped }), ev.CorruptDataError, /EvalKey/);
  await expectError(() => km.save({ ...keys, encBlob: keys.evalBlob }), ev.CorruptDataError, /EncKey/);
  await expectError(() => km.save({ ...keys, secBlob: Buffer.from('{"kid": "k"} trailing') }), ev.CorruptDataError, /SecKey/);
  await expectError(() => km.save(keys, { keyId: 'other' }), ev.CorruptDataError, /"k", not "other"/);
  // Same id and parameters, but another key set's EvalKey: the envelopes of a key set are
  // bound together (its set id), so the mix is refused as it is read, nothing written.
  const foreign = await new ev.KeyGenerator({ keyId: 'k', ...SMALL }).generateKeysStream();
  const mixed = await expectError(() => km.save({ ...keys, evalBlob: foreign.evalBlob }), ev.CorruptDataError, /the files are from different key sets/);
  assert.match(mixed.message, /EvalKey/);
  // The same for a file of another key set moved into a stored one: load and verify refuse it.
  await km.save(keys);
  fs.writeFileSync(path.join(keyPath, 'k', 'EvalKey.json'), foreign.evalBlob);
  await expectError(() => km.load(), ev.CorruptDataError, /the files are from different key sets/);
  await expectError(() => km.verify(), ev.CorruptDataError, /the files are from different key sets/);
  await km.delete();
  await expectError(() => km.save({ ...keys, secBlob: 'text' }), ev.InvalidArgumentError, /secBlob must be a Buffer/);
  await expectError(() => km.save({}), ev.InvalidArgumentError, /no key blob given/);
  await expectError(() => km.load({ roles: ['PrivateKey'] }), ev.InvalidArgumentError, /unknown role "PrivateKey"; accepted: SecKey, EncKey, EvalKey, MetadataKey/);
  assert.deepEqual(tree(keyPath), [], 'nothing written');
});

test('KeyManager: a per-key method without a keyId says so', async (t) => {
  const km = new ev.KeyManager({ keyPath: tempDir(t) });
  t.after(() => km.close());
  await expectError(() => km.load(), ev.InvalidArgumentError, /keyId is required/);
  await expectError(() => km.verifyKeyId(), ev.InvalidArgumentError, /keyId is required/);
  await expectError(() => km.load({ keyId: 'bad/id' }), ev.InvalidArgumentError, /key/);
  await expectError(() => km.verify({ keyId: 'x', kek: 42 }), ev.InvalidArgumentError, /kek must be a Buffer or a string/);
  await expectError(() => km.verify({ keyId: 'x', kek: 'k', sealKekPath: '/k' }), ev.InvalidArgumentError, /not both/);
});

test('a local store that cannot be written is a StorageIOError naming the path', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'not-a-directory');
  fs.writeFileSync(file, 'x');
  const gen = new ev.KeyGenerator({ keyPath: file, keyId: 'a', ...SMALL });
  const e = await expectError(() => gen.generateKeys(), ev.StorageIOError, /not a directory/);
  assert.ok(e.message.includes(file), e.message);
  assert.equal(fs.readFileSync(file, 'utf8'), 'x');
});

test('messages never repeat a long value: a key id, option, role or path of ~1 MB gives ~1 KB at most', async (t) => {
  const dir = tempDir(t);
  const long = 'k'.repeat((1 << 20) - 1024); // the options JSON is at most 1 MiB
  const longer = 'k'.repeat(1 << 20); // a key id goes to the library as a C string
  const short = async (what, fn) => {
    let caught;
    try {
      await fn();
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof ev.EnvectorError, `${what}: ${caught}`);
    const m = caught.message;
    assert.ok(m.length < 1100 && !m.includes(long.slice(0, 600)), `${what}: a ${m.length}-character message: ${m.slice(0, 200)}...`);
  };
  const gen = (opts) => new ev.KeyGenerator({ keyPath: dir, keyId: 'a', ...SMALL, ...opts });
  await short('keyId', () => gen({ keyId: long }).generateKeysStream());
  for (const opt of ['preset', 'evalMode', 'sealMode', 'seed']) {
    await short(opt, () => gen({ [opt]: long }).generateKeysStream());
  }
  await short('dimList', () => gen({ dimList: [long] }).generateKeysStream());
  await short('sealKekPath', () => gen({ sealMode: 'aes', sealKekPath: path.join(dir, long) }).generateKeysStream());
  await short('keyPath', () => gen({ keyPath: path.join(dir, long) }).generateKeys());
  await short('an unknown option', () => gen({ [long]: 1 }));
  await short('keyStore', () => new ev.KeyManager({ keyStore: long }).listKeys());
  await short('regionName', () => new ev.KeyManager({ keyStore: 'aws', regionName: long }).listKeys());
  await short('keyPath (manager)', () => new ev.KeyManager({ keyPath: path.join(dir, long) }).listKeys());
  const km = new ev.KeyManager({ keyPath: dir });
  t.after(() => km.close());
  await short('load keyId', () => km.load({ keyId: longer }));
  await short('verifyKeyId', () => km.verifyKeyId(longer));
  await short('delete keyId', () => km.delete({ keyId: longer }));
  await short('a role', () => km.load({ keyId: 'a', roles: [long] }));
  await short('verify sealKekPath', () => km.verify({ keyId: 'a', sealKekPath: path.join(dir, long) }));
  assert.deepEqual(tree(dir), [], 'nothing written');
});
