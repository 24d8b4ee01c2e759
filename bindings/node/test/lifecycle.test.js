'use strict';
// The key set lifecycle through KeyManager: state changes and the refused ones, a key set
// that is not active refused for use (KeyInactiveError), reseal, rotation with earlier
// versions, listSets with versions and an incomplete set, and lifetimeDays. Async and
// Sync variants alike.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const ev = require('..');
const { tempDir, kekFile, tree } = require('./helpers');

/** The smallest key sets (ip0, a relinearization key only): milliseconds each. */
const TINY = Object.freeze({ preset: 'ip0', evalMode: 'single', dimList: [32] });

function make(keyPath, keyId, extra = {}) {
  new ev.KeyGenerator({ keyPath, keyId, ...TINY, ...extra }).generateKeysSync();
}

function keyData(envelope) {
  return JSON.parse(envelope.toString('utf8')).entries[0].key_data;
}

const seconds = (t) => Date.parse(t) / 1000;

async function rejects(fn, cls, pattern) {
  let caught;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught && caught.name}: ${caught && caught.message}`);
  assert.equal(caught.name, cls.name);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

test('setState moves one step at a time; a deactivated set is refused for use (KeyInactiveError)', async (t) => {
  const keyPath = tempDir(t);
  make(keyPath, 'life');
  const km = new ev.KeyManager({ keyPath, keyId: 'life' });
  t.after(() => km.close());
  const st = await km.state();
  assert.equal(st.state, 'active');
  assert.equal(st.version, 1);
  assert.equal(st.reason, null);
  assert.equal(st.changedBy, null);
  assert.equal(st.compromised, false);
  assert.match(st.setId, /^[0-9a-f]{32}$/);
  assert.deepEqual(km.stateSync(), st);
  const keys = await km.load();

  await rejects(() => km.setState('destroyed', 'skip'), ev.InvalidArgumentError, /destroyed only from deactivated/);
  await rejects(() => km.setState('active', 'again'), ev.InvalidArgumentError, /already active/);
  await rejects(() => km.setState('deactivated', ''), ev.InvalidArgumentError, /a reason is required/);
  await rejects(() => km.setState('deactivated', 'r', { kek: crypto.randomBytes(32) }), ev.InvalidArgumentError, /not sealed; give no KEK/);
  await rejects(() => km.setState('deactivated', 'r', { compromised: 'yes' }), ev.InvalidArgumentError, /compromised must be true or false/);
  await rejects(() => km.setState('deactivated', 'r', { why: 1 }), ev.InvalidArgumentError, /unknown option "why"/);
  assert.deepEqual(await km.state(), st);

  const now = await km.setState('deactivated', 'rotated out');
  assert.equal(now.state, 'deactivated');
  assert.equal(now.reason, 'rotated out');
  assert.equal(now.changedBy.method, 'sdk');
  const e = await rejects(() => km.load(), ev.KeyInactiveError, /deactivated, not active/);
  assert.equal(e.code, 'ENVECTOR_ERR_KEY_INACTIVE');
  assert.equal(e.status, 9);
  assert.throws(() => km.loadSync({ roles: ['EncKey'] }), ev.KeyInactiveError);
  await rejects(() => km.verify(), ev.KeyInactiveError);
  await rejects(() => km.encryptMetadata('m'), ev.KeyInactiveError);
  await rejects(() => ev.init({ keyPath, keyId: 'life', ...TINY }), ev.KeyInactiveError);
  // Asked for by number (0: the current one), it loads whatever its state: the same keys.
  const v1 = await km.loadVersion(1);
  assert.deepEqual(km.loadVersionSync(0), v1);
  for (const k of ['secBlob', 'encBlob', 'evalBlob', 'metadataBlob']) assert.equal(keyData(v1[k]), keyData(keys[k]), k);
  await rejects(() => km.setState('active', 'undo'), ev.InvalidArgumentError, /active only from preparing/);

  const gone = km.setStateSync('destroyed', 'leaked', { compromised: true });
  assert.equal(gone.state, 'destroyed');
  assert.equal(gone.reason, 'compromised: leaked');
  assert.equal(gone.compromised, true);
  const tomb = await km.loadVersion(1);
  assert.equal(keyData(tomb.secBlob), undefined);
  assert.equal(keyData(tomb.encBlob), keyData(keys.encBlob));
  await km.delete();
  await rejects(() => km.setState('deactivated', 'r'), ev.NotFoundError);
  await rejects(() => km.state(), ev.NotFoundError);
  assert.deepEqual(tree(keyPath), []);
});

test('a sealed set needs its KEK; a wrong one changes nothing', async (t) => {
  const dir = tempDir(t);
  const kek = kekFile(dir);
  const keyPath = path.join(dir, 'keys');
  make(keyPath, 'sealed', { sealMode: 'aes', sealKekPath: kek });
  const km = new ev.KeyManager({ keyPath, keyId: 'sealed' });
  t.after(() => km.close());
  await rejects(() => km.setState('deactivated', 'done'), ev.InvalidArgumentError, /sealed; changing its state needs the KEK/);
  const e = await rejects(() => km.setState('deactivated', 'done', { kek: crypto.randomBytes(32) }), ev.AuthenticationError, /"sealed"/);
  assert.equal(e.code, 'ENVECTOR_ERR_AUTH');
  assert.equal((await km.state()).state, 'active');
  assert.equal((await km.setState('deactivated', 'done', { sealKekPath: kek })).state, 'deactivated');
  await rejects(() => km.setState('destroyed', 'x', { kek: 'k', sealKekPath: kek }), ev.InvalidArgumentError, /give kek or sealKekPath, not both/);
  assert.equal((await km.setState('destroyed', 'done', { kek: fs.readFileSync(kek, 'utf8').trim() })).state, 'destroyed');
});

test('reseal, then load and unseal with the new KEK', async (t) => {
  const dir = tempDir(t);
  make(dir, 'rs');
  const first = kekFile(dir, 'raw', 'first');
  const second = kekFile(dir, 'base64', 'second');
  const km = new ev.KeyManager({ keyPath: dir, keyId: 'rs' });
  t.after(() => km.close());
  const before = await km.load();
  await rejects(() => km.reseal(), ev.InvalidArgumentError, /the new KEK is required/);
  await rejects(() => km.reseal({ newKek: crypto.randomBytes(32), newSealKekPath: first }), ev.InvalidArgumentError, /give newKek or newSealKekPath, not both/);
  await rejects(() => km.reseal({ newKek: crypto.randomBytes(32), kek: crypto.randomBytes(32) }), ev.InvalidArgumentError, /not sealed; give no current KEK/);
  await km.reseal({ newSealKekPath: first }); // sealed for the first time
  const after = await km.load();
  assert.deepEqual(after.encBlob, before.encBlob);
  assert.deepEqual(after.evalBlob, before.evalBlob);
  assert.ok(after.secBlob.includes('AES-KEK'));
  assert.equal(await km.verify({ sealKekPath: first }), true);
  const token = await km.encryptMetadata('x', { sealKekPath: first });
  assert.equal(await km.decryptMetadata(token, { sealKekPath: first }), 'x');

  await rejects(() => km.reseal({ newSealKekPath: second }), ev.InvalidArgumentError, /needs the current KEK/);
  await rejects(() => km.reseal({ newSealKekPath: second, kek: crypto.randomBytes(32) }), ev.AuthenticationError);
  assert.deepEqual(await km.load(), after, 'a refused reseal changes nothing');
  km.resealSync({ newSealKekPath: second, sealKekPath: first });
  await rejects(() => km.verify({ sealKekPath: first }), ev.AuthenticationError);
  assert.equal(await km.verify({ sealKekPath: second }), true);
  assert.equal(await km.decryptMetadata(token, { sealKekPath: second }), 'x', 'the same MetadataKey');

  await km.setState('deactivated', 'retired', { sealKekPath: second });
  await rejects(() => km.reseal({ newSealKekPath: first, sealKekPath: second }), ev.KeyInactiveError);
});

test('rotate, then loadVersion(1) and the current version 2', async (t) => {
  const dir = tempDir(t);
  make(dir, 'rot');
  const km = new ev.KeyManager({ keyPath: dir });
  t.after(() => km.close());
  const v1 = await km.load({ keyId: 'rot' });
  const next = await km.rotate({ keyId: 'rot', reason: 'scheduled', lifetimeDays: 30 });
  assert.equal(next.state, 'active');
  assert.equal(next.version, 2);
  assert.equal(seconds(next.expiresAt) - seconds(next.createdAt), 30 * 86400);

  const current = await km.load({ keyId: 'rot' });
  assert.deepEqual(await km.state({ keyId: 'rot' }), next);
  assert.deepEqual(await km.loadVersion(2, { keyId: 'rot' }), current);
  const old = await km.loadVersion(1, { keyId: 'rot' });
  for (const k of ['secBlob', 'encBlob', 'evalBlob', 'metadataBlob']) {
    assert.equal(keyData(old[k]), keyData(v1[k]), `${k}: version 1 keeps its keys`);
    assert.notEqual(keyData(old[k]), keyData(current[k]), `${k}: version 2 has new ones`);
  }
  const st1 = await km.state({ keyId: 'rot', version: 1 });
  assert.equal(st1.state, 'deactivated');
  assert.equal(st1.reason, 'scheduled');
  assert.equal(await km.verify({ keyId: 'rot' }), true);
  const part = await km.loadVersion(1, { keyId: 'rot', roles: ['MetadataKey'] });
  assert.equal(part.secBlob, null);
  assert.equal(keyData(part.metadataBlob), keyData(v1.metadataBlob));

  await rejects(() => km.loadVersion(3, { keyId: 'rot' }), ev.NotFoundError, /no version 3.*the current one is 2/);
  for (const bad of [-1, 1.5, true, '1', undefined]) {
    assert.throws(() => km.loadVersionSync(bad, { keyId: 'rot' }), { name: 'InvalidArgumentError', message: /version must be a version number/ });
  }

  const third = km.rotateSync({ keyId: 'rot', preset: 'ip0', evalMode: 'rmp', dimList: [32], metadataEncryption: false });
  assert.equal(third.version, 3);
  assert.equal((await km.load({ keyId: 'rot' })).metadataBlob, null);
  assert.equal((await km.state({ keyId: 'rot', version: 2 })).reason, 'superseded by version 3');
  assert.deepEqual(await km.listSets(), [{ keyId: 'rot', roles: ['SecKey', 'EncKey', 'EvalKey'], complete: true, versions: [1, 2] }]);
  await rejects(() => km.rotate({ keyId: 'rot', lifetimeDays: 0 }), ev.InvalidArgumentError, /^KeyManager\.rotate: options: lifetimeDays must be a positive number/);
  await rejects(() => km.rotate({ keyId: 'rot', lifetime: 3 }), ev.InvalidArgumentError, /unknown option "lifetime"/);
  await rejects(() => km.rotate({ keyId: 'absent' }), ev.NotFoundError);
});

test('rotating a sealed set needs its KEK and seals the new one', async (t) => {
  const dir = tempDir(t);
  const kek = kekFile(dir);
  make(path.join(dir, 'k'), 'srot', { sealMode: 'aes', sealKekPath: kek });
  const km = new ev.KeyManager({ keyPath: path.join(dir, 'k'), keyId: 'srot' });
  t.after(() => km.close());
  await rejects(() => km.rotate(), ev.InvalidArgumentError, /rotating needs the KEK/);
  await rejects(() => km.rotate({ kek: crypto.randomBytes(32) }), ev.AuthenticationError);
  assert.deepEqual((await km.listSets())[0].versions, []);
  assert.equal((await km.rotate({ sealKekPath: kek })).version, 2);
  assert.ok((await km.load()).secBlob.includes('AES-KEK'));
  assert.equal(await km.verify({ sealKekPath: kek }), true);
});

test('listSets shows versions and an incomplete set', async (t) => {
  const dir = tempDir(t);
  const km = new ev.KeyManager({ keyPath: dir });
  t.after(() => km.close());
  assert.deepEqual(await km.listSets(), []);
  make(dir, 'a');
  make(dir, 'b');
  await km.rotate({ keyId: 'a' });
  fs.unlinkSync(path.join(dir, 'b', 'EvalKey.json'));
  const sets = [
    { keyId: 'a', roles: ['SecKey', 'EncKey', 'EvalKey', 'MetadataKey'], complete: true, versions: [1] },
    { keyId: 'b', roles: ['SecKey', 'EncKey', 'MetadataKey'], complete: false, versions: [] },
  ];
  assert.deepEqual(await km.listSets(), sets);
  assert.deepEqual(km.listSetsSync(), sets);
  assert.deepEqual(await km.listKeys(), ['a', 'b']);
  assert.equal(await km.verifyKeyId('b'), false);
  await rejects(() => km.load({ keyId: 'b' }), ev.NotFoundError, /EvalKey/);
  await km.delete({ keyId: 'b' });
  await km.delete({ keyId: 'a' });
  assert.deepEqual(await km.listSets(), []);
  assert.deepEqual(tree(dir), []);
});

test('lifetimeDays sets expiresAt (KeyGenerator and init)', async (t) => {
  const dir = tempDir(t);
  const keys = await new ev.KeyGenerator({ keyId: 'lt', lifetimeDays: 0.5, ...TINY }).generateKeysStream();
  const km = new ev.KeyManager({ keyPath: dir, keyId: 'lt' });
  t.after(() => km.close());
  await km.save(keys);
  const st = await km.state();
  assert.equal(seconds(st.expiresAt) - seconds(st.createdAt), 12 * 3600);
  const r = await ev.init({ keyPath: dir, keyId: 'init-lt', lifetimeDays: 365, ...TINY });
  assert.equal(r.created, true);
  const st2 = await km.state({ keyId: 'init-lt' });
  assert.equal(seconds(st2.expiresAt) - seconds(st2.createdAt), 365 * 86400);
  for (const [bad, pattern] of [[0, /must be a positive number/], [-3, /must be a positive number/], ['30', /must be a positive number/],
    [36501, /accepted: 1 hour to 100 years/], [0.01, /accepted: 1 hour to 100 years/]]) {
    await rejects(() => new ev.KeyGenerator({ keyPath: dir, keyId: 'bad', lifetimeDays: bad, ...TINY }).generateKeys(), ev.InvalidArgumentError, pattern);
  }
  assert.equal(fs.existsSync(path.join(dir, 'bad')), false);
});
