'use strict';
// init with address: the library's init flow (envector_init) against the reference key
// server, envector-keyserver (`make bin`), started per test on a free loopback port. The
// server's log says how many EvalKeys it stored.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const ev = require('..');
const { SMALL, tempDir, tree, startKeyserver, startMoto } = require('./helpers');

test('init registers once, then finds it registered (async and sync)', async (t) => {
  const dir = tempDir(t);
  const srv = await startKeyserver(t, path.join(dir, 'srv'));
  const keyPath = path.join(dir, 'keys');
  const opts = { keyPath, keyId: 'idx', address: srv.address, token: srv.token, ...SMALL };
  const first = await ev.init(opts);
  assert.deepEqual([first.created, first.registered, first.loaded, first.sealed], [true, true, true, false]);
  assert.equal(first.address, srv.address);
  assert.deepEqual(first.unloaded, []);
  assert.deepEqual(first.warnings, []);
  assert.deepEqual([first.preset, first.evalMode, first.dimList], ['ip0', 'rmp', [32]]);
  assert.equal(first.registrationInfo.evalKeySha256, first.evalKeySha256);
  assert.equal(fs.statSync(path.join(srv.dir, 'idx', 'EvalKey.bin')).size, first.evalKeySize);
  assert.equal(srv.stored('idx'), 1);
  assert.ok(!JSON.stringify(first).includes(srv.token));
  assert.ok(Object.isFrozen(first));

  // Again, synchronously, the token from a file: found, held by the server: not sent again.
  const again = ev.initIndexConfigSync({ keyPath, keyId: 'idx', address: srv.address, tokenFile: srv.tokenFile });
  assert.deepEqual([again.created, again.registered, again.loaded], [false, false, false]);
  assert.equal(again.evalKeySha256, first.evalKeySha256);
  assert.equal(srv.uploads('idx'), 1, srv.log());
  // The keys are read from the store when asked for.
  assert.deepEqual((await again.loadKeys()).evalBlob, fs.readFileSync(path.join(keyPath, 'idx', 'EvalKey.json')));
  assert.deepEqual(first.keys.evalBlob, fs.readFileSync(path.join(keyPath, 'idx', 'EvalKey.json')));
});

test('init with a wrong token: AuthenticationError, and the new key set is undone', async (t) => {
  const dir = tempDir(t);
  const srv = await startKeyserver(t, path.join(dir, 'srv'));
  const keyPath = path.join(dir, 'keys');
  await assert.rejects(ev.init({ keyPath, keyId: 'k', address: srv.address, token: 'not-the-token', ...SMALL }), (e) => {
    assert.ok(e instanceof ev.AuthenticationError, `${e.name}: ${e.message}`);
    assert.equal(e.code, 'ENVECTOR_ERR_AUTH');
    assert.match(e.message, /key set "k" was made by this call and its EvalKey could not be registered with grpc:\/\/127\.0\.0\.1:\d+, so it was deleted from the store again; the next init starts clean/);
    assert.match(e.message, /server refused \(Unauthenticated\): the bearer token is not accepted/);
    assert.ok(!e.message.includes('not-the-token'));
    return true;
  });
  assert.deepEqual(tree(keyPath), []);

  // A key set found is never deleted.
  ev.initSync({ keyPath, keyId: 'k', ...SMALL });
  const before = tree(keyPath);
  assert.throws(() => ev.initSync({ keyPath, keyId: 'k', address: srv.address, token: 'not-the-token' }),
    (e) => e instanceof ev.AuthenticationError && !/deleted/.test(e.message));
  assert.deepEqual(tree(keyPath), before);
  assert.equal(srv.uploads('k'), 0);
});

test('init: autoKeySetup false on a missing set is a NotFoundError; nothing is sent', async (t) => {
  const dir = tempDir(t);
  const srv = await startKeyserver(t, path.join(dir, 'srv'));
  const keyPath = path.join(dir, 'keys');
  await assert.rejects(ev.init({ keyPath, keyId: 'gone', autoKeySetup: false, address: srv.address, token: srv.token }),
    (e) => e instanceof ev.NotFoundError && /there is no key set "gone" and auto key setup is off, so none is made: create it first/.test(e.message));
  assert.deepEqual(tree(keyPath), []);
  assert.ok(!srv.log().includes('register_key'));
});

test('init: a server holding another EvalKey under the key id is an AlreadyExistsError', async (t) => {
  const dir = tempDir(t);
  const srv = await startKeyserver(t, path.join(dir, 'srv'));
  const o = { keyId: 'taken', address: srv.address, token: srv.token, ...SMALL };
  await ev.init({ keyPath: path.join(dir, 'a'), ...o });
  await assert.rejects(ev.init({ keyPath: path.join(dir, 'b'), ...o }),
    (e) => e instanceof ev.AlreadyExistsError && /deleted from the store again.*registered with another EvalKey/.test(e.message));
  assert.deepEqual(tree(path.join(dir, 'b')), []);
  assert.equal(srv.stored('taken'), 1);
});

test('init: option mistakes', async (t) => {
  const dir = tempDir(t);
  const srv = await startKeyserver(t, path.join(dir, 'srv'));
  const keyPath = path.join(dir, 'keys');
  const cases = [
    [{ address: srv.address, register: () => {} }, ev.InvalidArgumentError, /give address .* or register .*, not both/],
    [{ token: srv.token }, ev.InvalidArgumentError, /a token is given but no address/],
    [{ address: srv.address, token: 't', tokenFile: srv.tokenFile }, ev.InvalidArgumentError, /token or as tokenFile, not both/],
    [{ address: 'https://x:1' }, ev.InvalidArgumentError, /scheme "https"/],
    [{ address: srv.address, tls: 'yes' }, ev.InvalidArgumentError, /tls must be true or false/],
    [{ address: srv.address, token: 42 }, ev.InvalidArgumentError, /token must be a string/],
    [{ address: srv.address, timeoutSeconds: -1 }, ev.InvalidArgumentError, /^init(Sync)?: options: timeoutSeconds must be a positive number/],
    [{ address: srv.address, tokenFile: path.join(dir, 'none') }, ev.NotFoundError, /^init(Sync)?: tokenFile: cannot read it/],
    [{ address_: srv.address }, ev.InvalidArgumentError, /unknown option "address_"/],
  ];
  for (const [extra, cls, re] of cases) {
    await assert.rejects(ev.init({ keyPath, keyId: 'x', ...extra }), (e) => e instanceof cls && re.test(e.message), JSON.stringify(extra));
    assert.throws(() => ev.initSync({ keyPath, keyId: 'x', ...extra }), (e) => e instanceof cls && re.test(e.message), JSON.stringify(extra));
  }
  assert.deepEqual(tree(keyPath), []);
});

test('initSync: a register returning a Promise is refused, and the new key set undone', (t) => {
  const keyPath = tempDir(t);
  assert.throws(() => ev.initSync({ keyPath, keyId: 'p', register: async () => {}, ...SMALL }),
    (e) => e instanceof ev.InvalidArgumentError && /register returned a Promise/.test(e.message));
  assert.deepEqual(tree(keyPath), []);
  const calls = [];
  const r = ev.initSync({ keyPath, keyId: 'p', register: (keyId, evalKey, info) => calls.push([keyId, evalKey.length, info.created]), ...SMALL });
  assert.deepEqual([r.created, r.registered], [true, true]);
  assert.deepEqual(calls, [['p', r.keys.evalBlob.length, true]]);
});

test('init: sealed with a KEK given as bytes, and registered', async (t) => {
  const dir = tempDir(t);
  const srv = await startKeyserver(t, path.join(dir, 'srv'));
  const keyPath = path.join(dir, 'keys');
  const kek = Buffer.from([...Array(32).keys()]);
  const s = { address: srv.address, token: srv.token };
  const r = await ev.init({ keyPath, keyId: 's', sealMode: 'aes', kek, ...s, ...SMALL });
  assert.deepEqual([r.created, r.sealed, r.registered], [true, true, true]);
  await assert.rejects(ev.init({ keyPath, keyId: 's', sealMode: 'aes', kek: Buffer.alloc(32), ...s }), ev.AuthenticationError);
  const ok = await ev.init({ keyPath, keyId: 's', sealMode: 'aes', kek: kek.toString('hex'), ...s });
  assert.deepEqual([ok.created, ok.registered, ok.sealed], [false, false, true]);
});

const CHILD = `
const ev = require(process.argv[1]);
const r = ev.initSync({ keyPath: process.argv[2], keyId: 'race', address: process.argv[3], tokenFile: process.argv[4],
  preset: 'ip0', evalMode: 'single', dimList: [32] });
process.stdout.write(JSON.stringify({ created: r.created, sha: r.evalKeySha256 }));
`;

function runChild(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

test('init from two processes at once: one key set, registered once', async (t) => {
  const dir = tempDir(t);
  const srv = await startKeyserver(t, path.join(dir, 'srv'));
  const keyPath = path.join(dir, 'keys');
  const args = [path.join(__dirname, '..'), keyPath, srv.address, srv.tokenFile];
  const start = Date.now();
  const results = await Promise.all([runChild(args), runChild(args)]);
  t.diagnostic(`two processes ran init in ${Date.now() - start} ms`);
  assert.deepEqual(results.map((r) => r.created).sort(), [false, true]);
  assert.equal(results[0].sha, results[1].sha);
  const km = new ev.KeyManager({ keyPath });
  assert.deepEqual(await km.listKeys(), ['race']);
  km.close();
  assert.equal(srv.stored('race'), 1, srv.log());
});

test('init on AWS with a wrong token deletes the new key set at once (a retry succeeds)', async (t) => {
  const moto = await startMoto();
  t.after(() => moto.stop());
  await moto.createBucket('envector-key-storage');
  const dir = tempDir(t);
  const srv = await startKeyserver(t, path.join(dir, 'srv'));
  const aws = { keyStore: 'aws', regionName: moto.region };
  await assert.rejects(ev.init({ ...aws, keyId: 'reg', address: srv.address, token: 'wrong-token', ...SMALL }),
    (e) => e instanceof ev.AuthenticationError && /deleted from the store again/.test(e.message));
  const km = new ev.KeyManager(aws);
  assert.deepEqual(await km.listKeys(), []);
  km.close();
  const r = await ev.init({ ...aws, keyId: 'reg', address: srv.address, token: srv.token, ...SMALL });
  assert.deepEqual([r.created, r.registered], [true, true]);
  assert.equal(srv.stored('reg'), 1);
});
