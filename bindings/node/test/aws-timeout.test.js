'use strict';
// awsTimeoutSeconds: the longest one AWS request may go without progress. Against an
// endpoint that accepts connections and never answers (AWS_ENDPOINT_URL pointing at a
// loopback socket, dummy credentials as the moto tests set them), a call fails with
// RemoteStoreError within about that time instead of hanging.

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const os = require('node:os');
const ev = require('..');
const { SMALL, tempDir, tree } = require('./helpers');

const ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: os.devNull,
  AWS_SHARED_CREDENTIALS_FILE: os.devNull,
};
const UNSET = ['AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL_SECRETS_MANAGER'];

// silentEndpoint listens on a loopback port, accepts every connection and never answers;
// it points this process's AWS_* variables at itself until close().
async function silentEndpoint(t) {
  const held = [];
  const server = net.createServer((sock) => {
    held.push(sock);
    sock.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  const saved = {};
  for (const k of [...Object.keys(ENV), 'AWS_ENDPOINT_URL', ...UNSET]) saved[k] = process.env[k];
  Object.assign(process.env, ENV, { AWS_ENDPOINT_URL: url });
  for (const k of UNSET) delete process.env[k];
  t.after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    for (const s of held) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url, accepted: () => held.length };
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  let caught;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  return { error: caught, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

test('awsTimeoutSeconds bounds a call to an AWS endpoint that never answers (async and Sync)', async (t) => {
  const silent = await silentEndpoint(t);
  const keys = await new ev.KeyGenerator({ keyId: 't', ...SMALL }).generateKeysStream();
  const aws = { keyStore: 'aws', regionName: 'us-east-1', keyId: 't', awsTimeoutSeconds: 1 };
  const cases = [
    ['KeyManager.listKeys', (km) => km.listKeys()],
    ['KeyManager.listKeysSync', (km) => km.listKeysSync()],
    ['KeyManager.save', (km) => km.save(keys)],
    ['KeyManager.loadSync', (km) => km.loadSync()],
  ];
  for (const [who, call] of cases) {
    const km = new ev.KeyManager(aws);
    const { error, seconds } = await timed(() => call(km));
    km.close();
    console.log(`${who} against a silent endpoint, awsTimeoutSeconds 1: ${error && error.name} after ${seconds.toFixed(2)} s: ${error && error.message}`);
    assert.ok(error instanceof ev.RemoteStoreError, `${who}: ${error && error.name}: ${error && error.message}`);
    assert.equal(error.code, 'ENVECTOR_ERR_REMOTE');
    assert.ok(seconds < 10, `${who} took ${seconds.toFixed(1)} s`);
    assert.ok(error.message.startsWith(`${who}: `), error.message);
    assert.match(error.message, /within 1s/);
    assert.ok(!/aws_timeout_seconds|AWSConfig/.test(error.message), `Node's name only: ${error.message}`);
  }
  assert.ok(silent.accepted() >= cases.length, 'the calls reached the silent endpoint');
  const { error, seconds } = await timed(() => ev.init({ ...aws, awsTimeoutSeconds: 0.5, autoKeySetup: false }));
  console.log(`init against a silent endpoint, awsTimeoutSeconds 0.5: ${error && error.name} after ${seconds.toFixed(2)} s`);
  assert.ok(error instanceof ev.RemoteStoreError, `${error && error.name}: ${error && error.message}`);
  assert.ok(seconds < 10);
});

test('awsTimeoutSeconds out of range, of another type, or without keyStore aws is refused', async (t) => {
  const keyPath = tempDir(t);
  for (const [v, pattern] of [[0, /awsTimeoutSeconds must be a positive number of seconds, at most 3600/], [-1, /positive number/],
    [3601, /at most 3600/], ['30s', /awsTimeoutSeconds must be a positive number/]]) {
    await assert.rejects(new ev.KeyManager({ keyStore: 'aws', regionName: 'us-east-1', awsTimeoutSeconds: v }).open(),
      (e) => e instanceof ev.InvalidArgumentError && pattern.test(e.message) && e.message.startsWith('KeyManager.open: '), String(v));
  }
  assert.throws(() => new ev.KeyManager({ keyPath, awsTimeoutSeconds: 5 }).listKeysSync(),
    (e) => e instanceof ev.InvalidArgumentError && /awsTimeoutSeconds applies to keyStore "aws" only/.test(e.message));
  assert.deepEqual(tree(keyPath), []);
});
