'use strict';
// Messages in the words of this package: an error names the method that was called and
// the options in camelCase as the caller wrote them, never the C function or the options
// JSON's snake_case keys; every options argument that is not an object, or holds an
// unknown name, is refused naming what is accepted; every true-or-false option takes only
// a boolean. Nothing is written by a refused call.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const ev = require('..');
const { SMALL, tempDir, kekFile, tree } = require('./helpers');

// A C function of include/envector.h ("envector_keys", the envelope member, is not one).
const C_FUNCTION = /\benvector_(?!keys\b)[a-z]+(?:_[a-z]+)*/;
// An option as the options JSON names it, as a word (not in a path or a quoted value).
const C_OPTION = /(?<![\w./\\-])(key_id|eval_mode|dim_list|metadata_encryption|seal_mode|seal_kek_path|key_store|key_path|region_name|bucket_name|secret_prefix|lifetime_days|auto_key_setup|token_file|ca_file|timeout_seconds|register_timeout_seconds|aws_timeout_seconds|new_kek|old_kek|kek_len|change_json)(?![\w/\\-])/;

// failure runs fn (sync or async) and returns what it threw or rejected with.
async function failure(fn) {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error, nothing was thrown');
}

function unquoted(message) {
  return message.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

async function expectNamed(who, fn, cls, pattern = null) {
  const e = await failure(fn);
  assert.ok(e instanceof cls, `${who}: expected ${cls.name}, got ${e && e.name}: ${e && e.message}`);
  assert.ok(e.message.startsWith(`${who}: `), `${who}: ${e.message}`);
  assert.ok(!C_FUNCTION.test(e.message), `${who} names a C function: ${e.message}`);
  if (!(e instanceof ev.CorruptDataError)) assert.ok(!C_OPTION.test(unquoted(e.message)), `${who} names a C option: ${e.message}`);
  if (pattern) assert.match(e.message, pattern);
  return e;
}

test('library errors name the method called (async and Sync) and the options in camelCase', async (t) => {
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  const kek = kekFile(dir);
  const keys = await new ev.KeyGenerator({ keyId: 'k', ...SMALL }).generateKeysStream();
  const sealed = await new ev.KeyGenerator({ keyId: 's', sealKekPath: kek, ...SMALL }).generateKeysStream();
  const km = new ev.KeyManager({ keyPath, keyId: 'k' });
  t.after(() => km.close());
  await km.save(keys);
  await km.save(sealed, { keyId: 's' });
  const before = tree(keyPath);
  const gen = (opts) => new ev.KeyGenerator({ keyPath, keyId: 'a', ...SMALL, ...opts });
  const both = (name, fn) => [[name, () => fn(false)], [`${name}Sync`, () => fn(true)]];
  const cases = [
    ...both('KeyGenerator.generateKeys', (s) => (s ? gen({ dimList: [33] }).generateKeysSync() : gen({ dimList: [33] }).generateKeys())).map((c) => [...c, ev.InvalidArgumentError, /dim 33 is not accepted/]),
    ...both('KeyGenerator.generateKeysStream', (s) => (s ? gen({ dimList: 'all' }).generateKeysStreamSync() : gen({ dimList: 'all' }).generateKeysStream())).map((c) => [...c, ev.InvalidArgumentError, /options: dimList must be an array of integers/]),
    ...both('KeyGenerator.generateKeys', (s) => (s ? gen({ keyPath: 42 }).generateKeysSync() : gen({ keyPath: 42 }).generateKeys())).map((c) => [...c, ev.InvalidArgumentError, /keyPath must be a string/]),
    ...both('KeyManager.open', (s) => (s ? new ev.KeyManager({ keyStore: 'gcs' }).openSync() : new ev.KeyManager({ keyStore: 'gcs' }).open())).map((c) => [...c, ev.InvalidArgumentError, /keyStore "gcs" is not accepted/]),
    ...both('KeyManager.listKeys', (s) => (s ? new ev.KeyManager({ keyStore: 'aws' }).listKeysSync() : new ev.KeyManager({ keyStore: 'aws' }).listKeys())).map((c) => [...c, ev.InvalidArgumentError, /region/]),
    ...both('KeyManager.listSets', (s) => (s ? new ev.KeyManager({ secretPrefix: 7 }).listSetsSync() : new ev.KeyManager({ secretPrefix: 7 }).listSets())).map((c) => [...c, ev.InvalidArgumentError, /secretPrefix must be a string/]),
    ...both('KeyManager.save', (s) => (s ? km.saveSync(keys) : km.save(keys))).map((c) => [...c, ev.AlreadyExistsError, null]),
    ...both('KeyManager.save', (s) => (s ? km.saveSync({ ...keys, secBlob: Buffer.from('{}') }, { keyId: 'x' }) : km.save({ ...keys, secBlob: Buffer.from('{}') }, { keyId: 'x' }))).map((c) => [...c, ev.CorruptDataError, null]),
    ...both('KeyManager.load', (s) => (s ? km.loadSync({ keyId: 'absent' }) : km.load({ keyId: 'absent' }))).map((c) => [...c, ev.NotFoundError, null]),
    ...both('KeyManager.delete', (s) => (s ? km.deleteSync({ keyId: 'absent' }) : km.delete({ keyId: 'absent' }))).map((c) => [...c, ev.NotFoundError, null]),
    ...both('KeyManager.verifyKeyId', (s) => (s ? km.verifyKeyIdSync('bad/id') : km.verifyKeyId('bad/id'))).map((c) => [...c, ev.InvalidArgumentError, null]),
    ...both('KeyManager.verify', (s) => (s ? km.verifySync({ kek: Buffer.alloc(31, 1) }) : km.verify({ kek: Buffer.alloc(31, 1) }))).map((c) => [...c, ev.InvalidArgumentError, /31 bytes/]),
    ...both('KeyManager.verify', (s) => (s ? km.verifySync({ keyId: 's', kek: Buffer.alloc(32) }) : km.verify({ keyId: 's', kek: Buffer.alloc(32) }))).map((c) => [...c, ev.AuthenticationError, null]),
    ...both('KeyManager.state', (s) => (s ? km.stateSync({ keyId: 'absent' }) : km.state({ keyId: 'absent' }))).map((c) => [...c, ev.NotFoundError, null]),
    ...both('KeyManager.setState', (s) => (s ? km.setStateSync(5, 'r') : km.setState(5, 'r'))).map((c) => [...c, ev.InvalidArgumentError, /: to must be a string such as "deactivated"/]),
    ...both('KeyManager.reseal', (s) => (s ? km.resealSync({ newKek: Buffer.alloc(31, 1) }) : km.reseal({ newKek: Buffer.alloc(31, 1) }))).map((c) => [...c, ev.InvalidArgumentError, /31 bytes/]),
    ...both('KeyManager.rotate', (s) => (s ? km.rotateSync({ lifetimeDays: 0 }) : km.rotate({ lifetimeDays: 0 }))).map((c) => [...c, ev.InvalidArgumentError, /lifetimeDays must be a positive number/]),
    ...both('KeyManager.loadVersion', (s) => (s ? km.loadVersionSync(7) : km.loadVersion(7))).map((c) => [...c, ev.NotFoundError, null]),
    ...both('KeyManager.encryptMetadata', (s) => (s ? km.encryptMetadataSync('m', { keyId: 'absent' }) : km.encryptMetadata('m', { keyId: 'absent' }))).map((c) => [...c, ev.NotFoundError, null]),
    ...both('KeyManager.decryptMetadata', (s) => (s ? km.decryptMetadataSync('not a token') : km.decryptMetadata('not a token'))).map((c) => [...c, ev.InvalidArgumentError, null]),
    ...both('encryptMetadata', (s) => (s ? ev.encryptMetadataSync('m', { keyPath, keyId: 's', kek: Buffer.alloc(32) }) : ev.encryptMetadata('m', { keyPath, keyId: 's', kek: Buffer.alloc(32) }))).map((c) => [...c, ev.AuthenticationError, null]),
    ...both('decryptMetadata', (s) => (s ? ev.decryptMetadataSync('x', { keyPath, keyId: 'k' }) : ev.decryptMetadata('x', { keyPath, keyId: 'k' }))).map((c) => [...c, ev.InvalidArgumentError, null]),
    ...both('init', (s) => (s ? ev.initSync({ keyPath, keyId: 'absent', autoKeySetup: false }) : ev.init({ keyPath, keyId: 'absent', autoKeySetup: false }))).map((c) => [...c, ev.NotFoundError, null]),
    ...both('init', (s) => (s ? ev.initSync({ keyPath, keyId: 'x', address: '127.0.0.1:9', registerTimeoutSeconds: 0 }) : ev.init({ keyPath, keyId: 'x', address: '127.0.0.1:9', registerTimeoutSeconds: 0 }))).map((c) => [...c, ev.InvalidArgumentError, /registerTimeoutSeconds must be a positive number of seconds/]),
    ...both('init', (s) => (s ? ev.initSync({ keyPath, keyId: 'x', caFile: '/ca.pem' }) : ev.init({ keyPath, keyId: 'x', caFile: '/ca.pem' }))).map((c) => [...c, ev.InvalidArgumentError, /caFile is given but no address: .* or leave caFile out/]),
    ...both('initIndexConfig', (s) => (s ? ev.initIndexConfigSync({ keyPath, keyId: 'x', preset: 'ip4' }) : ev.initIndexConfig({ keyPath, keyId: 'x', preset: 'ip4' }))).map((c) => [...c, ev.InvalidArgumentError, /preset ip4 is not supported/]),
  ];
  for (const [who, fn, cls, pattern] of cases) await expectNamed(who, fn, cls, pattern);
  assert.deepEqual(tree(keyPath), before, 'nothing written');
});

test("sealMode 'aes' without a KEK names kek and sealKekPath, never a C function", async (t) => {
  const keyPath = tempDir(t);
  for (const [who, fn] of [
    ['KeyGenerator', () => new ev.KeyGenerator({ keyPath, keyId: 'a', sealMode: 'aes', ...SMALL })],
    ['init', () => ev.init({ keyPath, keyId: 'a', sealMode: 'aes', ...SMALL })],
    ['initSync', () => ev.initSync({ keyPath, keyId: 'a', sealMode: 'AES', ...SMALL })],
  ]) {
    await expectNamed(who, fn, ev.InvalidArgumentError, /sealMode 'aes' needs the KEK: give kek \(the KEK itself, a Buffer, Uint8Array or string: 32 raw bytes, 64 hex characters or 44 base64 characters\) or sealKekPath \(the file holding it\)$/);
  }
  assert.deepEqual(tree(keyPath), []);
});

test("the library's C wording is translated: phrases, C arguments, quoted values and file fields kept", () => {
  const { apiMessage } = require('../lib/errors');
  assert.equal(
    apiMessage('envector_keygen: options: seal_mode "aes" needs seal_kek_path, the file of the 32-byte KEK (or generate with seal_mode "none" and seal the key set with envector_seal)', 'KeyGenerator.generateKeys', 1),
    'KeyGenerator.generateKeys: options: sealMode "aes" needs the KEK: give kek (the KEK itself, a Buffer, Uint8Array or string: 32 raw bytes, 64 hex characters or 44 base64 characters) or sealKekPath (the file holding it)',
  );
  assert.equal(apiMessage("envector_init: options: reason is not read by envector_init (it is envector_store_rotate's); leave it out", 'init', 1),
    "init: options: reason is not read by init (it is KeyManager.rotate's); leave it out");
  assert.equal(apiMessage('envector_store_reseal: new_kek_len 99 is not accepted', 'KeyManager.reseal', 1), 'KeyManager.reseal: newKek of 99 bytes is not accepted');
  assert.equal(apiMessage('envector_keygen: options: dim_list[2] = 1.5 is not an integer', 'KeyGenerator.generateKeys', 1),
    'KeyGenerator.generateKeys: options: dimList[2] = 1.5 is not an integer');
  assert.equal(apiMessage('envector_store_load: key set "key_id" in /tmp/key_path: entries[0].eval_mode, --key_id', 'KeyManager.load', 2),
    'KeyManager.load: key set "key_id" in /tmp/key_path: entries[0].eval_mode, --key_id');
  assert.equal(apiMessage('envector_store_load: unknown eval_mode "X"', 'KeyManager.load', 5), 'KeyManager.load: unknown eval_mode "X"');
  assert.equal(apiMessage('envector_store_open: slow (configurable: AWSConfig.Timeout in Go, aws_timeout_seconds in C and Python, awsTimeoutSeconds in Node, --timeout in the CLI)', 'KeyManager.open', 7),
    'KeyManager.open: slow (configurable: awsTimeoutSeconds)');
  assert.equal(apiMessage('KeyManager.load: keyId is required', 'KeyManager.load', 1), 'KeyManager.load: keyId is required');
});

// Every constructor and method that takes an options object, with its name as a message
// gives it, whether the object is required, and a near miss of one of its options.
function optionTakers(km, token, keys) {
  const methods = [
    ['KeyGenerator', (o) => new ev.KeyGenerator(o), true, ['dimlist', 'dimList']],
    ['KeyManager', (o) => new ev.KeyManager(o), false, ['key_path', 'keyPath']],
    ['init', (o) => ev.init(o), true, ['autoKeySetup_', 'autoKeySetup']],
    ['initSync', (o) => ev.initSync(o), true, ['sealkekpath', 'sealKekPath']],
    ['initIndexConfig', (o) => ev.initIndexConfig(o), true, ['awsTimeoutSecond', 'awsTimeoutSeconds']],
    ['initIndexConfigSync', (o) => ev.initIndexConfigSync(o), true, ['evalmode', 'evalMode']],
    ['encryptMetadata', (o) => ev.encryptMetadata('m', o), true, ['keyID', 'keyId']],
    ['encryptMetadataSync', (o) => ev.encryptMetadataSync('m', o), true, ['add', 'aad']],
    ['decryptMetadata', (o) => ev.decryptMetadata(token, o), true, ['as_json', 'asJson']],
    ['decryptMetadataSync', (o) => ev.decryptMetadataSync(token, o), true, ['asjson', 'asJson']],
  ];
  for (const [name, call, near] of [
    ['save', (s, o) => (s ? km.saveSync(keys, o) : km.save(keys, o)), ['keyid', 'keyId']],
    ['load', (s, o) => (s ? km.loadSync(o) : km.load(o)), ['role', 'roles']],
    ['delete', (s, o) => (s ? km.deleteSync(o) : km.delete(o)), ['Immediate', 'immediate']],
    ['verify', (s, o) => (s ? km.verifySync(o) : km.verify(o)), ['seal_kek_path', 'sealKekPath']],
    ['state', (s, o) => (s ? km.stateSync(o) : km.state(o)), ['versions', 'version']],
    ['setState', (s, o) => (s ? km.setStateSync('deactivated', 'r', o) : km.setState('deactivated', 'r', o)), ['compromized', 'compromised']],
    ['reseal', (s, o) => (s ? km.resealSync(o) : km.reseal(o)), ['newkek', 'newKek']],
    ['rotate', (s, o) => (s ? km.rotateSync(o) : km.rotate(o)), ['lifetime', 'lifetimeDays']],
    ['loadVersion', (s, o) => (s ? km.loadVersionSync(1, o) : km.loadVersion(1, o)), ['rolse', 'roles']],
    ['encryptMetadata', (s, o) => (s ? km.encryptMetadataSync('m', o) : km.encryptMetadata('m', o)), ['kek_', 'kek']],
    ['decryptMetadata', (s, o) => (s ? km.decryptMetadataSync(token, o) : km.decryptMetadata(token, o)), ['asJSON', 'asJson']],
  ]) {
    methods.push([`KeyManager.${name}`, (o) => call(false, o), false, near]);
    methods.push([`KeyManager.${name}Sync`, (o) => call(true, o), false, near]);
  }
  return methods;
}

test('every options argument that is not an object, or names an unknown option, is refused naming what is accepted', async (t) => {
  const keyPath = tempDir(t);
  const km = new ev.KeyManager({ keyPath, keyId: 'k' });
  t.after(() => km.close());
  const keys = await new ev.KeyGenerator({ keyId: 'k', ...SMALL }).generateKeysStream();
  await km.save(keys);
  const token = await km.encryptMetadata('m');
  const before = tree(keyPath);
  const secret = crypto.randomBytes(32).toString('hex'); // e.g. a KEK passed where options go
  for (const [who, call, required, [miss, meant]] of optionTakers(km, token, keys)) {
    const bad = [[null, 'null'], [[], 'an array'], [5, 'a number'], [secret, 'a string'], [true, 'a boolean'], [Buffer.from(secret), 'a Buffer'], [() => {}, 'a function']];
    for (const [value, what] of bad) {
      const e = await expectNamed(who, () => call(value), ev.InvalidArgumentError, new RegExp(`options must be an object like \\{.*\\}${required ? '' : ' \\(or left out\\)'}, not ${what}$`));
      assert.ok(!e.message.includes(secret), `${who}: the value is not shown`);
    }
    if (required) {
      await expectNamed(who, () => call(undefined), ev.InvalidArgumentError, /options are required: an object like \{/);
    }
    const e = await expectNamed(who, () => call({ [miss]: 1 }), ev.InvalidArgumentError, new RegExp(`unknown option ${JSON.stringify(miss)} \\(did you mean ${meant}\\?\\); accepted: .*\\b${meant}\\b`));
    assert.ok(e.message.includes(`accepted: `));
    await expectNamed(who, () => call({ zzzzqq: 1 }), ev.InvalidArgumentError, /unknown option "zzzzqq"; accepted: /);
  }
  assert.deepEqual(tree(keyPath), before, 'nothing written');
  assert.equal((await km.state()).state, 'active');
});

test('every true-or-false option takes only a boolean; nothing is changed by a refused call', async (t) => {
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  const km = new ev.KeyManager({ keyPath, keyId: 'k' });
  t.after(() => km.close());
  await km.save(await new ev.KeyGenerator({ keyId: 'k', ...SMALL }).generateKeysStream());
  const token = await km.encryptMetadata('m');
  const files = () => Object.fromEntries(tree(keyPath).filter((f) => fs.statSync(path.join(keyPath, f)).isFile()).map((f) => [f, fs.readFileSync(path.join(keyPath, f))]));
  const before = files();
  const calls = [
    ['KeyGenerator', 'metadataEncryption', (v) => new ev.KeyGenerator({ keyPath, keyId: 'g', metadataEncryption: v, ...SMALL })],
    ['init', 'metadataEncryption', (v) => ev.init({ keyPath, keyId: 'i', metadataEncryption: v, ...SMALL })],
    ['initSync', 'autoKeySetup', (v) => ev.initSync({ keyPath, keyId: 'i', autoKeySetup: v, ...SMALL })],
    ['init', 'tls', (v) => ev.init({ keyPath, keyId: 'i', address: '127.0.0.1:9', tls: v, ...SMALL })],
    ['KeyManager.delete', 'immediate', (v) => km.delete({ immediate: v })],
    ['KeyManager.deleteSync', 'immediate', (v) => km.deleteSync({ immediate: v })],
    ['KeyManager.setState', 'compromised', (v) => km.setState('deactivated', 'r', { compromised: v })],
    ['KeyManager.rotateSync', 'metadataEncryption', (v) => km.rotateSync({ metadataEncryption: v })],
    ['KeyManager.decryptMetadata', 'asJson', (v) => km.decryptMetadata(token, { asJson: v })],
    ['decryptMetadataSync', 'asJson', (v) => ev.decryptMetadataSync(token, { keyPath, keyId: 'k', asJson: v })],
  ];
  for (const [who, name, call] of calls) {
    for (const [v, shown] of [['x', '"x"'], ['false', '"false"'], [1, '1'], [0, '0'], [null, 'null'], [{}, 'an object'], [[true], 'an array']]) {
      await expectNamed(who, () => call(v), ev.InvalidArgumentError, new RegExp(`^${who.replace('.', '\\.')}: ${name} must be true or false, not ${shown.replace(/[[\]]/g, '\\$&')}$`));
    }
  }
  assert.deepEqual(files(), before, 'nothing written or deleted');
  assert.equal((await km.state()).state, 'active');
  assert.equal(await km.verifyKeyId(), true, "delete({immediate: 'x'}) deleted nothing");
  // Real booleans still work.
  assert.equal(await km.decryptMetadata(token, { asJson: false }), 'm');
  await km.delete({ immediate: true });
  assert.deepEqual(tree(keyPath), []);
});
