'use strict';
// KeyGenerator with the KEK in memory ({kek}): the keys are made unsealed inside the
// library, sealed there (envector_seal), and only then returned or written. A set sealed
// this way opens with the same KEK in any form and from a file, refuses another, and its
// public keys are those of the same keys unsealed.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const ev = require('..');
const { SMALL, tempDir, tree } = require('./helpers');

const FILES = ['EncKey.json', 'EvalKey.json', 'MetadataKey.json', 'SecKey.json'];
const entry = (blob) => JSON.parse(blob.toString('utf8')).entries[0];

// The same KEK as each thing kek takes.
function forms(key) {
  return {
    Buffer: Buffer.from(key),
    Uint8Array: new Uint8Array(key),
    'hex string': key.toString('hex'),
    'hex string + newline': `${key.toString('hex')}\n`,
    'base64 string': key.toString('base64'),
    'hex Buffer': Buffer.from(key.toString('hex')),
  };
}

async function rejects(fn, cls, pattern) {
  let caught;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught && caught.name}: ${caught && caught.message}`);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

test('a set sealed with a KEK in memory (every form, async and Sync) opens with it and its file, refuses another', async (t) => {
  const dir = tempDir(t);
  const key = crypto.randomBytes(32);
  const kekPath = path.join(dir, 'kek.raw');
  fs.writeFileSync(kekPath, key, { mode: 0o600 });
  let i = 0;
  for (const [form, kek] of Object.entries(forms(key))) {
    for (const sync of [false, true]) {
      const keyId = `m${i++}`;
      const gen = new ev.KeyGenerator({ keyId, kek, ...SMALL });
      const keys = sync ? gen.generateKeysStreamSync() : await gen.generateKeysStream();
      assert.equal(entry(keys.secBlob).alg, 'AES-KEK', form);
      assert.equal(entry(keys.metadataBlob).alg, 'AES-256-GCM', form);
      assert.equal(entry(keys.encBlob).alg, undefined);
      assert.equal(entry(keys.evalBlob).alg, undefined);
      const km = new ev.KeyManager({ keyPath: path.join(dir, 'keys'), keyId });
      try {
        await km.save(keys);
        assert.equal(await km.verify({ kek }), true, form);
        assert.equal(km.verifySync({ kek: key }), true, form);
        assert.equal(await km.verify({ sealKekPath: kekPath }), true, form);
        await rejects(() => km.verify({ kek: crypto.randomBytes(32) }), ev.AuthenticationError, new RegExp(`"${keyId}"`));
        await rejects(() => km.verify(), ev.InvalidArgumentError, /sealed/);
        const token = await km.encryptMetadata('v', { kek });
        assert.equal(await km.decryptMetadata(token, { sealKekPath: kekPath }), 'v');
      } finally {
        km.close();
      }
    }
  }
});

test('generateKeys with a KEK in memory writes only sealed secrets (async and Sync)', async (t) => {
  const dir = tempDir(t);
  const key = crypto.randomBytes(32);
  const kekPath = path.join(dir, 'kek.hex');
  fs.writeFileSync(kekPath, `${key.toString('hex')}\n`, { mode: 0o600 });
  const keyPath = path.join(dir, 'keys');
  await new ev.KeyGenerator({ keyPath, keyId: 'a', kek: key.toString('base64'), ...SMALL }).generateKeys();
  new ev.KeyGenerator({ keyPath, keyId: 's', kek: key, ...SMALL }).generateKeysSync();
  for (const keyId of ['a', 's']) {
    const d = path.join(keyPath, keyId);
    assert.deepEqual(fs.readdirSync(d).sort(), FILES);
    assert.equal(entry(fs.readFileSync(path.join(d, 'SecKey.json'))).alg, 'AES-KEK');
    assert.equal(entry(fs.readFileSync(path.join(d, 'MetadataKey.json'))).alg, 'AES-256-GCM');
    const before = tree(d).map((f) => fs.readFileSync(path.join(d, f)));
    const km = new ev.KeyManager({ keyPath, keyId });
    try {
      assert.equal(await km.verify({ sealKekPath: kekPath }), true);
      await rejects(() => km.verify({ kek: Buffer.alloc(32) }), ev.AuthenticationError);
    } finally {
      km.close();
    }
    assert.deepEqual(tree(d).map((f) => fs.readFileSync(path.join(d, f))), before);
  }
});

test('sealing leaves the public keys as they were', async () => {
  // The same seed makes the same keys; sealed or not, EncKey and EvalKey are the same
  // bytes (made within one second: the envelopes record the time to the second).
  const seed = Buffer.alloc(64, 9);
  let plain;
  let sealed;
  for (let i = 0; i < 5; i++) {
    plain = await new ev.KeyGenerator({ keyId: 'p', seed, ...SMALL }).generateKeysStream();
    sealed = await new ev.KeyGenerator({ keyId: 'p', seed, kek: crypto.randomBytes(32), ...SMALL }).generateKeysStream();
    if (JSON.parse(plain.encBlob).created_at === JSON.parse(sealed.encBlob).created_at) break;
  }
  assert.ok(sealed.encBlob.equals(plain.encBlob), 'EncKey unchanged');
  assert.ok(sealed.evalBlob.equals(plain.evalBlob), 'EvalKey unchanged');
  assert.notEqual(entry(sealed.secBlob).key_data, entry(plain.secBlob).key_data);
});

test('sealMode follows the KEK; contradictions and bad KEKs are refused, nothing written', async (t) => {
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  const key = crypto.randomBytes(32);
  const kekPath = path.join(dir, 'kek');
  fs.writeFileSync(kekPath, key, { mode: 0o600 });
  // A KEK without sealMode means 'aes', in memory or in a file; 'aes' in any case too.
  for (const opts of [{ kek: key }, { kek: key, sealMode: 'aes' }, { kek: key, sealMode: 'AES' }, { sealKekPath: kekPath }]) {
    const keys = await new ev.KeyGenerator({ keyId: 's', ...opts, ...SMALL }).generateKeysStream();
    assert.equal(entry(keys.secBlob).alg, 'AES-KEK', JSON.stringify(Object.keys(opts)));
  }
  const r = await ev.init({ keyPath, keyId: 'i', kek: key, ...SMALL });
  assert.equal(r.sealed, true);
  const km = new ev.KeyManager({ keyPath, keyId: 'i' });
  await km.delete();
  km.close();
  const bad = [
    [{ kek: key, sealMode: 'none' }, /^(KeyGenerator|init): sealMode is 'none' but kek is given: give sealMode 'aes' \(or leave sealMode out\)/],
    [{ sealKekPath: kekPath, sealMode: 'none' }, /sealMode is 'none' but sealKekPath is given/],
    [{ kek: key, sealKekPath: kekPath }, /^(KeyGenerator|init): give kek or sealKekPath, not both$/],
    [{ sealMode: 'aes' }, /sealMode 'aes' needs the KEK: give kek .* or sealKekPath/],
    [{ kek: 42 }, /kek must be a Buffer or a string \(the KEK: 32 raw bytes, 64 hex characters or 44 base64 characters\), not a number$/],
    [{ kek: ['k'] }, /kek must be a Buffer or a string .*, not an array$/],
    [{ kek: '' }, /kek is empty; accepted: 32 raw bytes/],
    [{ kek: Buffer.alloc(0) }, /kek is empty/],
  ];
  for (const [opts, pattern] of bad) {
    await rejects(() => new ev.KeyGenerator({ keyPath, keyId: 'x', ...opts, ...SMALL }), ev.InvalidArgumentError, pattern);
    await rejects(() => ev.init({ keyPath, keyId: 'x', ...opts, ...SMALL }), ev.InvalidArgumentError, pattern);
  }
  // A seal mode the library does not know is refused, KEK or not: never sealed silently.
  for (const opts of [{ kek: key, sealMode: 'rsa' }, { sealMode: 'rsa' }]) {
    await rejects(() => new ev.KeyGenerator({ keyPath, keyId: 'x', ...opts, ...SMALL }).generateKeys(), ev.InvalidArgumentError,
      /^KeyGenerator\.generateKeys: options: sealMode "rsa" is not accepted; accepted: none, aes$/);
  }
  assert.deepEqual(tree(keyPath), [], 'nothing written');
});

// KEKs in no accepted form, as each thing kek takes: a wrong length, not hex, not base64.
const SECRET = 'ab'.repeat(31); // 62 hex characters
const MALFORMED = {
  '31 bytes': Buffer.alloc(31),
  '33 bytes': Buffer.alloc(33, 1),
  '62 hex characters': SECRET,
  'not hex (string)': 'zz'.repeat(32),
  'not hex (Buffer)': Buffer.from('zz'.repeat(32)),
  'not hex (Uint8Array)': new Uint8Array(Buffer.from('zz'.repeat(32))),
  'hex + two newlines': `${'ab'.repeat(32)}\n\n`,
  'URL-safe base64': Buffer.alloc(32, 0xff).toString('base64url').padEnd(44, '='),
  'base64 of 33 bytes': Buffer.alloc(33).toString('base64'),
};

test('a KEK in no accepted form is refused by the constructor, before any key is made', async (t) => {
  // The defaults (ip3, mm32, every dim: ~12 s to make) with keyPath set: the constructor
  // refuses the KEK, so no KeyGenerator exists to make or write anything.
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  for (const [form, kek] of Object.entries(MALFORMED)) {
    const e = await rejects(() => new ev.KeyGenerator({ keyPath, keyId: 'x', kek }), ev.InvalidArgumentError,
      /^KeyGenerator: kek: .*accepted: exactly 32 raw bytes/);
    assert.equal(e.code, 'ENVECTOR_ERR_INVALID_ARGUMENT', form);
    assert.ok(!e.message.includes(SECRET) && !e.message.includes('zzzz') && !e.message.includes('____'), `${form}: the KEK is not echoed`);
  }
  assert.ok(!fs.existsSync(keyPath), 'nothing written');
});

test('a KEK checked by the constructor is still checked when sealing', async (t) => {
  // Your Buffer is used as it is, not copied: changed after the constructor, it is refused
  // when sealing (after the keys were made in memory), before anything is written.
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  for (const who of ['generateKeys', 'generateKeysSync', 'generateKeysStream', 'generateKeysStreamSync']) {
    const kek = Buffer.from('ab'.repeat(32));
    const gen = new ev.KeyGenerator({ keyPath, keyId: 'x', kek, ...SMALL });
    kek.write('zz');
    await rejects(() => gen[who](), ev.InvalidArgumentError, new RegExp(`^KeyGenerator\\.${who}: kek: 64 characters that are not all hex`));
  }
  assert.deepEqual(tree(keyPath), [], 'nothing written');
});

test('reseal names the new KEK when it is malformed (async and Sync) and changes nothing', async (t) => {
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  const first = crypto.randomBytes(32);
  const km = new ev.KeyManager({ keyPath, keyId: 'r' });
  t.after(() => km.close());
  await km.save(await new ev.KeyGenerator({ keyId: 'r', ...SMALL }).generateKeysStream());
  const files = () => tree(keyPath).filter((f) => fs.statSync(path.join(keyPath, f)).isFile()).map((f) => [f, fs.readFileSync(path.join(keyPath, f))]);
  const before = files();
  const badFile = path.join(dir, 'bad.kek');
  fs.writeFileSync(badFile, `${'zz'.repeat(32)}\n`, { mode: 0o600 });
  for (const [name, run] of [['reseal', (o) => km.reseal(o)], ['resealSync', (o) => km.resealSync(o)]]) {
    for (const bad of [Buffer.alloc(31), SECRET, 'zz'.repeat(32)]) {
      const e = await rejects(() => run({ newKek: bad }), ev.InvalidArgumentError, new RegExp(`^KeyManager\\.${name}: newKek: .*accepted: exactly 32 raw bytes`));
      assert.ok(!e.message.includes(SECRET) && !e.message.includes('zzzz'), 'the KEK is not echoed');
    }
    await rejects(() => run({ newSealKekPath: badFile }), ev.InvalidArgumentError, new RegExp(`^KeyManager\\.${name}: newSealKekPath: 64 characters that are not all hex`));
  }
  assert.deepEqual(files(), before, 'unchanged');
  // Sealed: a malformed current KEK is still kek, a malformed new one newKek.
  await km.reseal({ newKek: first });
  const sealed = await km.load();
  await rejects(() => km.reseal({ newKek: crypto.randomBytes(32), kek: Buffer.alloc(31) }), ev.InvalidArgumentError, /^KeyManager\.reseal: kek: a KEK of 31 bytes is not accepted/);
  await rejects(() => km.reseal({ newKek: Buffer.alloc(31), kek: first }), ev.InvalidArgumentError, /^KeyManager\.reseal: newKek: a KEK of 31 bytes is not accepted/);
  assert.deepEqual(await km.load(), sealed, 'a refused reseal changes nothing');
  assert.equal(await km.verify({ kek: first }), true);
});

test("the caller's KEK Buffer is neither copied into view nor wiped", async (t) => {
  const dir = tempDir(t);
  const key = crypto.randomBytes(32);
  const mine = Buffer.from(key);
  const gen = new ev.KeyGenerator({ keyPath: dir, keyId: 'w', kek: mine, ...SMALL });
  assert.ok(!JSON.stringify(gen).includes(key.toString('hex')));
  assert.ok(!Object.keys(gen).includes('kek'), 'the KEK is private');
  await gen.generateKeys();
  assert.ok(mine.equals(key), "the caller's Buffer is not wiped");
  const km = new ev.KeyManager({ keyPath: dir, keyId: 'w' });
  try {
    assert.equal(await km.verify({ kek: mine }), true);
    await km.rotate({ kek: mine, ...SMALL });
    assert.ok(mine.equals(key));
  } finally {
    km.close();
  }
});
