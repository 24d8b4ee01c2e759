'use strict';
// Metadata encryption with a key set's MetadataKey: encryptMetadata / decryptMetadata
// (module functions and KeyManager methods, async and *Sync) against the local store,
// plain and sealed, with associated data; the refusals (wrong aad, key set or KEK,
// altered or malformed token, non-UTF-8 metadata, no MetadataKey); the token format,
// checked with node:crypto's AES-GCM; the calls the async API makes; one round trip in
// AWS (moto).

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { fn } = require('../lib/native');
const { SMALL, tempDir, kekFile, startMoto } = require('./helpers');

// Count the calls into the library, as test/calls.test.js does (before the API loads).
const C_ONLY = new Set(['envector_version', 'envector_bytes_free', 'envector_string_free', 'envector_string_list_free']);
const counts = { sync: {}, async: {} };
for (const [name, f] of Object.entries(fn)) {
  const wrapped = (...a) => {
    if (!C_ONLY.has(name)) counts.sync[name] = (counts.sync[name] || 0) + 1;
    return f(...a);
  };
  wrapped.async = (...a) => {
    counts.async[name] = (counts.async[name] || 0) + 1;
    return f.async(...a);
  };
  fn[name] = wrapped;
}
const ev = require('..');

const META = { title: 'secret-title', 저자: '김', tags: ['a', 'b'], n: 3 };
const COMPACT = '{"title":"secret-title","저자":"김","tags":["a","b"],"n":3}';

async function make(keyPath, keyId, extra = {}) {
  await new ev.KeyGenerator({ keyPath, keyId, ...SMALL, ...extra }).generateKeys();
}

function tokenDoc(token) {
  return JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
}

const notSecret = (e) => {
  assert.ok(!e.message.includes('secret-title'), e.message);
  return true;
};

test('round trip of objects, arrays, strings and bytes; the token is base64 of {encrypted_data, iv, tag}', async (t) => {
  const keyPath = tempDir(t);
  await make(keyPath, 'idx');
  const o = { keyPath, keyId: 'idx' };
  const cases = [
    [META, COMPACT],
    [[1, '둘', null, { k: true }], '[1,"둘",null,{"k":true}]'],
    ['plain text, 한글', 'plain text, 한글'],
    [Buffer.from(COMPACT), COMPACT],
    [new Uint8Array(Buffer.from('a Uint8Array')), 'a Uint8Array'],
    ['', ''],
  ];
  for (const [value, text] of cases) {
    const token = await ev.encryptMetadata(value, o);
    assert.match(token, /^[A-Za-z0-9+/]+=*$/);
    const doc = tokenDoc(token);
    assert.deepEqual(Object.keys(doc).sort(), ['encrypted_data', 'iv', 'tag']);
    assert.equal(Buffer.from(doc.iv, 'base64').length, 12);
    assert.equal(Buffer.from(doc.tag, 'base64').length, 16);
    assert.equal(Buffer.from(doc.encrypted_data, 'base64').length, Buffer.byteLength(text));
    assert.equal(await ev.decryptMetadata(token, o), text);
    // As a Buffer with a final newline (read from a file), and the JSON form.
    assert.equal(await ev.decryptMetadata(Buffer.from(`${token}\n`), o), text);
    assert.equal(ev.decryptMetadataSync(JSON.stringify(doc), o), text);
  }
  const token = ev.encryptMetadataSync(META, o);
  assert.deepEqual(await ev.decryptMetadata(token, { ...o, asJson: true }), META);
  assert.notEqual(await ev.encryptMetadata(META, o), token); // a fresh IV each time
});

test('KeyManager methods use its keyId and store; sync variants; use after close', async (t) => {
  const keyPath = tempDir(t);
  await make(keyPath, 'idx');
  await make(keyPath, 'idx2');
  const km = new ev.KeyManager({ keyPath, keyId: 'idx' });
  const token = await km.encryptMetadata(META, { aad: 'vec-1' });
  assert.deepEqual(await km.decryptMetadata(token, { aad: 'vec-1', asJson: true }), META);
  assert.equal(km.decryptMetadataSync(token, { aad: Buffer.from('vec-1') }), COMPACT); // a string aad is its UTF-8 bytes
  const other = km.encryptMetadataSync('x', { keyId: 'idx2' });
  assert.equal(await ev.decryptMetadata(other, { keyPath, keyId: 'idx2' }), 'x');
  km.close();
  await assert.rejects(km.encryptMetadata('x'), ev.ClosedError);
  assert.throws(() => km.decryptMetadataSync(token), ev.ClosedError);
  await assert.rejects(new ev.KeyManager({ keyPath }).encryptMetadata('x'), /keyId is required/);
  await assert.rejects(ev.encryptMetadata('x', { keyPath }), /encryptMetadata: keyId is required/);
});

test('associated data must match; another key set does not decrypt', async (t) => {
  const keyPath = tempDir(t);
  await make(keyPath, 'a');
  await make(keyPath, 'b');
  const token = await ev.encryptMetadata(META, { keyPath, keyId: 'a', aad: 'vec-17' });
  assert.deepEqual(await ev.decryptMetadata(token, { keyPath, keyId: 'a', aad: 'vec-17', asJson: true }), META);
  for (const aad of ['vec-18', undefined, Buffer.alloc(0)]) {
    await assert.rejects(ev.decryptMetadata(token, { keyPath, keyId: 'a', aad }), (e) => {
      assert.ok(e instanceof ev.AuthenticationError, e.message);
      assert.match(e.message, /does not decrypt/);
      return notSecret(e);
    });
  }
  const plain = await ev.encryptMetadata(META, { keyPath, keyId: 'a' });
  assert.throws(() => ev.decryptMetadataSync(plain, { keyPath, keyId: 'a', aad: 'vec-17' }), ev.AuthenticationError);
  await assert.rejects(ev.decryptMetadata(plain, { keyPath, keyId: 'b' }), (e) => {
    assert.ok(e instanceof ev.AuthenticationError);
    assert.equal(e.code, 'ENVECTOR_ERR_AUTH');
    assert.match(e.message, /another MetadataKey/);
    return notSecret(e);
  });
  await assert.rejects(ev.encryptMetadata(META, { keyPath, keyId: 'a', aad: 17 }), /aad must be a string or a Buffer/);
});

test('altered and malformed tokens', async (t) => {
  const keyPath = tempDir(t);
  await make(keyPath, 'idx');
  const o = { keyPath, keyId: 'idx' };
  const doc = tokenDoc(await ev.encryptMetadata(META, o));
  for (const field of ['encrypted_data', 'iv', 'tag']) {
    const v = doc[field];
    const altered = { ...doc, [field]: (v[0] === 'A' ? 'B' : 'A') + v.slice(1) };
    const token = Buffer.from(JSON.stringify(altered)).toString('base64');
    await assert.rejects(ev.decryptMetadata(token, o), (e) => e instanceof ev.AuthenticationError && /altered/.test(e.message));
  }
  for (const bad of ['not a token!', '', 'e30=', '{"iv": "AAAA"}', JSON.stringify({ ...doc, extra: '1' })]) {
    await assert.rejects(ev.decryptMetadata(bad, o), (e) => {
      assert.ok(e instanceof ev.InvalidArgumentError, `${bad}: ${e.message}`);
      assert.match(e.message, /token/);
      return true;
    });
  }
  await assert.rejects(ev.decryptMetadata('abc\0def', o), /token holds a NUL character/);
  await assert.rejects(ev.decryptMetadata(12, o), /token must be a string or a Buffer/);
});

test('metadata that is not UTF-8 text or JSON is refused; unknown options too', async (t) => {
  const keyPath = tempDir(t);
  await make(keyPath, 'idx');
  const o = { keyPath, keyId: 'idx' };
  await assert.rejects(ev.encryptMetadata(Buffer.from([0x63, 0x61, 0x66, 0xe9]), o), (e) => e instanceof ev.InvalidArgumentError && /not UTF-8 text/.test(e.message));
  await assert.rejects(ev.encryptMetadata('bad \ud800', o), /metadata is not valid Unicode text/);
  for (const other of [3, null, undefined, new Map(), new Date(0), true]) {
    await assert.rejects(ev.encryptMetadata(other, o), /metadata must be a string, a Buffer or Uint8Array of UTF-8 text, or a plain object or array/);
  }
  await assert.rejects(ev.encryptMetadata({ n: 1n }, o), /metadata cannot be written as JSON/);
  await assert.rejects(ev.encryptMetadata('x', { ...o, aadd: 'x' }), /unknown option "aadd"/);
  await assert.rejects(ev.encryptMetadata('x', { ...o, asJson: true }), /unknown option "asJson"/);
  assert.throws(() => new ev.KeyManager(o).encryptMetadataSync('x', { keyPath }), /unknown option "keyPath"/);
  const token = await ev.encryptMetadata('not json', o);
  await assert.rejects(ev.decryptMetadata(token, { ...o, asJson: true }), (e) => {
    assert.ok(e instanceof ev.CorruptDataError, e.message);
    assert.match(e.message, /the metadata is not JSON/);
    assert.ok(!e.message.includes('not json'));
    return true;
  });
  await assert.rejects(ev.decryptMetadata(token, { ...o, asJson: 'yes' }), /asJson must be true or false/);
});

test('a sealed MetadataKey needs its KEK: file, Buffer or text; a wrong one is refused', async (t) => {
  const dir = tempDir(t);
  const keyPath = path.join(dir, 'keys');
  const kek = kekFile(dir);
  await make(keyPath, 'sealed', { sealMode: 'aes', sealKekPath: kek });
  const o = { keyPath, keyId: 'sealed' };
  await assert.rejects(ev.encryptMetadata(META, o), (e) => e instanceof ev.InvalidArgumentError && /MetadataKey of key set "sealed" is sealed; give its KEK/.test(e.message));
  const token = await ev.encryptMetadata(META, { ...o, sealKekPath: kek, aad: 'v' });
  assert.deepEqual(await ev.decryptMetadata(token, { ...o, sealKekPath: kek, aad: 'v', asJson: true }), META);
  assert.equal(ev.decryptMetadataSync(token, { ...o, kek: fs.readFileSync(kek, 'utf8'), aad: 'v' }), COMPACT);
  const kekBuf = fs.readFileSync(kek);
  assert.equal(await ev.decryptMetadata(token, { ...o, kek: kekBuf, aad: 'v' }), COMPACT);
  assert.deepEqual(kekBuf, fs.readFileSync(kek), "the caller's KEK Buffer is not wiped");
  await assert.rejects(ev.decryptMetadata(token, { ...o, sealKekPath: kekFile(dir, 'hex', 'wrong'), aad: 'v' }), (e) => {
    assert.ok(e instanceof ev.AuthenticationError, e.message);
    assert.match(e.message, /MetadataKey of key "sealed" does not unseal: wrong KEK/);
    return notSecret(e);
  });
  await assert.rejects(ev.encryptMetadata(META, { ...o, sealKekPath: path.join(dir, 'none') }), ev.NotFoundError);
  await assert.rejects(ev.encryptMetadata(META, { ...o, sealKekPath: kek, kek: kekBuf }), /give kek or sealKekPath, not both/);
  // A KEK given for an unsealed key set is not needed, and not in the way.
  await make(keyPath, 'plain');
  const p = { keyPath, keyId: 'plain', sealKekPath: kek };
  assert.equal(await ev.decryptMetadata(await ev.encryptMetadata('t', p), p), 't');
});

test('a key set without a MetadataKey, and no key set at all', async (t) => {
  const keyPath = tempDir(t);
  await make(keyPath, 'nometa', { metadataEncryption: false });
  await make(keyPath, 'idx');
  await assert.rejects(ev.encryptMetadata(META, { keyPath, keyId: 'nometa' }), (e) => {
    assert.ok(e instanceof ev.NotFoundError, e.message);
    assert.match(e.message, /key set "nometa" has no MetadataKey \(it was made with metadataEncryption: false\)/);
    return true;
  });
  const token = await ev.encryptMetadata(META, { keyPath, keyId: 'idx' });
  assert.throws(() => ev.decryptMetadataSync(token, { keyPath, keyId: 'nometa' }), /has no MetadataKey/);
  await assert.rejects(ev.decryptMetadata(token, { keyPath, keyId: 'absent' }), (e) => {
    assert.ok(e instanceof ev.NotFoundError);
    assert.ok(!/has no MetadataKey/.test(e.message) && /absent/.test(e.message), e.message);
    return true;
  });
});

test("the token is enVector's format: node:crypto's AES-256-GCM opens ours, and makes tokens we open", async (t) => {
  const keyPath = tempDir(t);
  await make(keyPath, 'idx');
  const envelope = JSON.parse(fs.readFileSync(path.join(keyPath, 'idx', 'MetadataKey.json')));
  const key = Buffer.from(envelope.entries[0].key_data, 'base64');
  assert.equal(key.length, 32);
  const doc = tokenDoc(await ev.encryptMetadata(META, { keyPath, keyId: 'idx', aad: 'vec-1' }));
  const d = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(doc.iv, 'base64'));
  d.setAAD(Buffer.from('vec-1'));
  d.setAuthTag(Buffer.from(doc.tag, 'base64'));
  assert.equal(Buffer.concat([d.update(Buffer.from(doc.encrypted_data, 'base64')), d.final()]).toString(), COMPACT);

  const iv = crypto.randomBytes(12);
  const c = crypto.createCipheriv('aes-256-gcm', key, iv);
  const ct = Buffer.concat([c.update('외부 SDK', 'utf8'), c.final()]);
  const theirs = JSON.stringify({ encrypted_data: ct.toString('base64'), iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64') });
  assert.equal(await ev.decryptMetadata(Buffer.from(theirs).toString('base64'), { keyPath, keyId: 'idx' }), '외부 SDK');
  assert.equal(await ev.decryptMetadata(theirs, { keyPath, keyId: 'idx' }), '외부 SDK');
});

test('the async functions never call into Go synchronously, and make few calls', async (t) => {
  const dir = tempDir(t);
  const kek = kekFile(dir);
  await make(dir, 'plain');
  await make(dir, 'sealed', { sealMode: 'aes', sealKekPath: kek });
  const counted = async (work) => {
    counts.sync = {};
    counts.async = {};
    const r = await work();
    await new Promise((res) => setTimeout(res, 20)); // detached frees
    return { sync: counts.sync, async: counts.async, r };
  };
  let c = await counted(() => ev.encryptMetadata(META, { keyPath: dir, keyId: 'plain' }));
  assert.deepEqual(c.sync, {});
  assert.deepEqual(c.async, { envector_store_open: 1, envector_store_load: 1, envector_keyset_sealed: 1, envector_metadata_encrypt: 1, envector_keyset_free: 1, envector_store_free: 1 });
  const km = new ev.KeyManager({ keyPath: dir, keyId: 'sealed' });
  t.after(() => km.close());
  const token = await km.encryptMetadata(META, { sealKekPath: kek });
  c = await counted(() => km.decryptMetadata(token, { sealKekPath: kek }));
  assert.deepEqual(c.sync, {});
  assert.deepEqual(c.async, { envector_store_load: 1, envector_keyset_sealed: 1, envector_unseal: 1, envector_metadata_decrypt: 1, envector_keyset_free: 2 });
  assert.equal(c.r, COMPACT);
});

test('a key set in AWS (moto): sealed, only its MetadataKey read', async (t) => {
  const moto = await startMoto();
  t.after(() => moto.stop());
  await moto.createBucket('envector-key-storage');
  const dir = tempDir(t);
  const kek = kekFile(dir);
  const aws = { keyStore: 'aws', regionName: moto.region };
  const keys = await new ev.KeyGenerator({ keyId: 'm1', sealMode: 'aes', sealKekPath: kek, ...SMALL }).generateKeysStream();
  const km = new ev.KeyManager({ ...aws, keyId: 'm1' });
  t.after(() => km.close());
  await km.save(keys);
  const token = await km.encryptMetadata(META, { aad: 'v', sealKekPath: kek });
  assert.deepEqual(await ev.decryptMetadata(token, { ...aws, keyId: 'm1', aad: 'v', asJson: true, sealKekPath: kek }), META);
  await assert.rejects(ev.encryptMetadata(META, { ...aws, keyId: 'm2' }), (e) => e instanceof ev.NotFoundError && /metadata_blob/.test(e.message));
});
