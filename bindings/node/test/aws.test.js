'use strict';
// The AWS store (S3 for public keys, Secrets Manager for secret keys) against moto in
// server mode: the real AWS SDK inside the library talks to a moto_server process on a
// loopback port. The AWS_* variables pointing at it are set in process.env after the
// library was loaded (require above), which the library sees when a store is opened.
// moto missing is a failure with install instructions, never a skip.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const ev = require('..');
const { SMALL, tempDir, kekFile, startMoto } = require('./helpers');

const BUCKET = 'envector-key-storage';
let moto;

test.before(async () => {
  moto = await startMoto();
});

test.after(async () => {
  if (moto) await moto.stop();
});

test.beforeEach(async () => {
  await moto.reset();
  await moto.createBucket(BUCKET);
});

const aws = (extra = {}) => ({ keyStore: 'aws', regionName: moto.region, ...extra });

test('init on AWS: generate, save, register; then found; KeyManager workflow', async () => {
  const calls = [];
  const first = await ev.init({ ...aws(), keyId: 'aws-1', ...SMALL, register: (keyId, evalKey, info) => calls.push({ keyId, evalKey, info }) });
  assert.equal(first.created, true);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].info.keyStore, 'aws');
  assert.deepEqual(calls[0].evalKey, first.keys.evalBlob);

  const again = await ev.init({ ...aws(), keyId: 'aws-1', register: () => calls.push('again') });
  assert.equal(again.created, false);
  assert.equal(calls.length, 1);
  assert.deepEqual(again.keys, first.keys);

  const km = new ev.KeyManager({ ...aws(), keyId: 'aws-1' });
  try {
    assert.deepEqual(await km.listKeys(), ['aws-1']);
    assert.equal(await km.verifyKeyId(), true);
    assert.equal(await km.verifyKeyId('aws-2'), false);
    const pub = await km.load({ roles: ['EncKey', 'EvalKey'] });
    assert.equal(pub.secBlob, null);
    assert.deepEqual(pub.evalBlob, first.keys.evalBlob);
    assert.equal(await km.verify(), true);
    await assert.rejects(km.save(first.keys), (e) => e instanceof ev.AlreadyExistsError && /already exists/.test(e.message));

    // Deleting with the recovery window holds the secret names; immediate frees them.
    await km.delete();
    assert.deepEqual(await km.listKeys(), []);
    await assert.rejects(km.save(first.keys), (e) => e instanceof ev.AlreadyExistsError && /scheduled for deletion/.test(e.message));
    await km.delete({ immediate: true });
    await km.save(first.keys);
    assert.deepEqual(await km.load(), first.keys);
    await km.delete({ immediate: true });
  } finally {
    km.close();
  }
});

test('sealing with a KEK file works on AWS', async (t) => {
  const dir = tempDir(t);
  const kek = kekFile(dir);
  const r = await ev.init({ ...aws(), keyId: 'sealed', sealMode: 'aes', sealKekPath: kek, ...SMALL });
  assert.equal(r.sealed, true);
  assert.equal(JSON.parse(r.keys.secBlob).entries[0].alg, 'AES-KEK');
  const km = new ev.KeyManager({ ...aws(), keyId: 'sealed' });
  t.after(() => km.close());
  assert.equal(await km.verify({ sealKekPath: kek }), true);
  await assert.rejects(km.verify({ sealKekPath: kekFile(dir, 'base64', 'wrong') }), ev.AuthenticationError);
  await assert.rejects(ev.init({ ...aws(), keyId: 'sealed', sealMode: 'aes', sealKekPath: kekFile(dir, 'hex', 'wrong2') }), ev.AuthenticationError);
});

test('bucket and prefix options: each prefix is its own namespace; "" means none', async () => {
  await moto.createBucket('other-bucket');
  const keys = await new ev.KeyGenerator({ keyId: 'p1', ...SMALL }).generateKeysStream();
  const a = new ev.KeyManager({ ...aws({ bucketName: 'other-bucket', secretPrefix: 'team/a' }), keyId: 'p1' });
  const none = new ev.KeyManager({ ...aws({ bucketName: 'other-bucket', secretPrefix: '' }), keyId: 'p1' });
  const dflt = new ev.KeyManager({ ...aws(), keyId: 'p1' });
  try {
    await a.save(keys);
    await none.save(keys);
    assert.deepEqual(await a.listKeys(), ['p1']);
    assert.deepEqual(await none.listKeys(), ['p1']);
    assert.deepEqual(await dflt.listKeys(), []);
    assert.deepEqual((await a.load()).secBlob, keys.secBlob);
  } finally {
    a.close();
    none.close();
    dflt.close();
  }
});

test('autoKeySetup false on AWS: NotFoundError naming the secret and the object', async () => {
  await assert.rejects(ev.init({ ...aws(), keyId: 'nothing-here', autoKeySetup: false }), (e) => {
    assert.ok(e instanceof ev.NotFoundError, `${e.name}: ${e.message}`);
    assert.match(e.message, /auto key setup is off, so none is made/);
    assert.ok(e.message.includes('secret envector/keys/nothing-here/sec_blob'), e.message);
    assert.ok(e.message.includes(`s3://${BUCKET}/envector/keys/nothing-here/enc_blob.json`), e.message);
    return true;
  });
  const km = new ev.KeyManager(aws());
  assert.deepEqual(await km.listKeys(), []);
  km.close();
});

test('a missing bucket is named, and nothing is left behind', async () => {
  const keys = await new ev.KeyGenerator({ keyId: 'nb', ...SMALL }).generateKeysStream();
  const km = new ev.KeyManager({ ...aws({ bucketName: 'no-such-bucket' }), keyId: 'nb' });
  await assert.rejects(km.save(keys), (e) => {
    assert.ok(e instanceof ev.NotFoundError, `${e.name}: ${e.message}`);
    assert.match(e.message, /bucket "no-such-bucket" does not exist/);
    assert.match(e.message, /NoSuchBucket/);
    return true;
  });
  km.close();
  // The secrets that save created first were removed: the same key set saves elsewhere.
  const ok = new ev.KeyManager({ ...aws(), keyId: 'nb' });
  await ok.save(keys);
  ok.close();
});

test('AWS_* variables changed in process.env are seen by stores opened afterwards', async () => {
  const saved = process.env.AWS_ENDPOINT_URL;
  const savedS3 = process.env.AWS_ENDPOINT_URL_S3;
  const savedSM = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  // Nothing listens on port 9 of 127.0.0.1 (discard; connection refused).
  for (const k of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL_SECRETS_MANAGER']) process.env[k] = 'http://127.0.0.1:9';
  const km = new ev.KeyManager(aws());
  try {
    await assert.rejects(km.listKeys(), (e) => {
      assert.ok(e instanceof ev.RemoteStoreError, `${e.name}: ${e.message}`);
      assert.equal(e.code, 'ENVECTOR_ERR_REMOTE');
      assert.match(e.message, /127\.0\.0\.1:9/);
      return true;
    });
  } finally {
    km.close();
    process.env.AWS_ENDPOINT_URL = saved;
    process.env.AWS_ENDPOINT_URL_S3 = savedS3;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = savedSM;
  }
  const back = new ev.KeyManager(aws());
  assert.deepEqual(await back.listKeys(), []);
  back.close();
});

test('register failing on AWS removes the new key set at once (the secret names are free again)', async () => {
  await assert.rejects(ev.init({ ...aws(), keyId: 'reg', ...SMALL, register: async () => { throw new Error('server refused'); } }), /server refused/);
  const km = new ev.KeyManager({ ...aws(), keyId: 'reg' });
  assert.equal(await km.verifyKeyId(), false);
  km.close();
  const r = await ev.init({ ...aws(), keyId: 'reg', ...SMALL, register: () => {} });
  assert.equal(r.created, true);
  assert.equal(r.registered, true);
});

test('generateKeys to local and save to AWS: the same envelope bytes in both stores', async (t) => {
  const keyPath = tempDir(t);
  await new ev.KeyGenerator({ keyPath, keyId: 'both', ...SMALL }).generateKeys();
  const local = new ev.KeyManager({ keyPath, keyId: 'both' });
  const remote = new ev.KeyManager({ ...aws(), keyId: 'both' });
  try {
    const keys = await local.load();
    await remote.save(keys);
    const back = await remote.load();
    for (const k of Object.keys(keys)) assert.deepEqual(back[k], keys[k], k);
    assert.deepEqual(back.secBlob, fs.readFileSync(path.join(keyPath, 'both', 'SecKey.json')));
  } finally {
    local.close();
    remote.close();
  }
});
