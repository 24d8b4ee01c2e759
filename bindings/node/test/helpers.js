'use strict';
// Test support: temporary directories, KEK files, and moto (a local S3 and Secrets
// Manager) in server mode.

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { repositoryRoot } = require('../lib/locate');

/**
 * A small, fast key set (enVector's preset ip0, eval mode rmp, dim 32: ~50 ms, a 4.7 MB
 * EvalKey), for every test where the defaults are not the point. The defaults (ip3,
 * mm32, dims 32..4096, as enVector's SDK) make a 1.2 GB EvalKey (~7 s to disk; in memory
 * ~12 s and ~5 GB): the tests never make them (local.test.js checks the defaults without doing so).
 */
const SMALL = Object.freeze({ preset: 'ip0', evalMode: 'rmp', dimList: Object.freeze([32]) });

/** A new temporary directory, removed when the test ends. */
function tempDir(t, prefix = 'envector-node-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a new random KEK in the given form ('hex', 'base64' or 'raw'); returns its path. */
function kekFile(dir, form = 'hex', name = `kek-${form}`) {
  const key = crypto.randomBytes(32);
  const p = path.join(dir, name);
  const data = form === 'raw' ? key : `${key.toString(form)}\n`;
  fs.writeFileSync(p, data, { mode: 0o600 });
  return p;
}

/** Every file under dir, relative, sorted (to show that nothing was written). */
function tree(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}

// ---- moto ------------------------------------------------------------------------------

const MOTO_INSTALL =
  "install it at the repository root with: python3 -m venv build/venv && build/venv/bin/pip install 'moto[server]>=5.1.14' " +
  '(make deps does this), or set MOTO_SERVER to the path of moto_server';

/** $MOTO_SERVER, else <repo>/build/venv/bin/moto_server, else moto_server on PATH. */
function findMoto() {
  if (process.env.MOTO_SERVER) {
    const p = process.env.MOTO_SERVER;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      throw new Error(`MOTO_SERVER=${p} is not an executable file; ${MOTO_INSTALL}`);
    }
  }
  const root = repositoryRoot();
  if (root) {
    const p = path.join(root, 'build', 'venv', 'bin', 'moto_server');
    if (fs.existsSync(p)) return p;
  }
  const r = spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  throw new Error(`moto_server not found (not in $MOTO_SERVER, build/venv/bin or PATH); ${MOTO_INSTALL}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function request(method, url, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts moto_server on a free loopback port and points this process's AWS_* variables
 * at it (dummy credentials, nothing from the user's AWS configuration). Returns
 * {url, createBucket(name), reset(), stop()}.
 */
async function startMoto() {
  const bin = findMoto();
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const keep = (c) => {
      if (output.length < 65536) output += c;
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let exited = null;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
    });
    child.on('error', (e) => {
      exited = { error: e };
    });
    const deadline = Date.now() + 60000;
    let up = false;
    while (Date.now() < deadline && !exited) {
      try {
        await request('GET', `${url}/moto-api/`, 1000);
        up = true;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    if (up) {
      const stop = () => {
        if (exited) return;
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // gone already
        }
      };
      process.once('exit', stop);
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: url,
        AWS_ENDPOINT_URL_S3: url,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONFIG_FILE: os.devNull,
        AWS_SHARED_CREDENTIALS_FILE: os.devNull,
      });
      delete process.env.AWS_SESSION_TOKEN;
      delete process.env.AWS_PROFILE;
      return {
        url,
        region: 'us-east-1',
        async createBucket(name) {
          const r = await request('PUT', `${url}/${name}`);
          if (r.status !== 200) throw new Error(`creating bucket ${name}: HTTP ${r.status} ${r.body}`);
        },
        async reset() {
          const r = await request('POST', `${url}/moto-api/reset`);
          if (r.status !== 200) throw new Error(`resetting moto: HTTP ${r.status}`);
        },
        async stop() {
          if (exited) return;
          const done = new Promise((r) => child.once('exit', r));
          stop();
          const timer = setTimeout(() => {
            try {
              process.kill(-child.pid, 'SIGKILL');
            } catch {
              // gone
            }
          }, 5000);
          await done;
          clearTimeout(timer);
        },
      };
    }
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
    lastError = new Error(`${bin} did not answer on ${url}${exited ? ` (exited: ${JSON.stringify(exited)})` : ' within 60 s'}:\n${output}`);
  }
  throw lastError;
}

// ---- envector-keyserver ----------------------------------------------------------------

const KEYSERVER_BUILD = 'run `make bin` at the repository root, or set ENVECTOR_KEYSERVER to the path of envector-keyserver';

/** $ENVECTOR_KEYSERVER, else <repo>/bin/envector-keyserver (`make bin`). */
function findKeyserver() {
  const root = repositoryRoot();
  const p = process.env.ENVECTOR_KEYSERVER || (root && path.join(root, 'bin', 'envector-keyserver'));
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return p;
  } catch {
    throw new Error(`envector-keyserver not found at ${p}; ${KEYSERVER_BUILD}`);
  }
}

/**
 * Starts the reference key server (envector-keyserver) over <dir>/srv on a free loopback
 * port (--listen 127.0.0.1:0: the address is read from its first line of output) with a
 * bearer token in <dir>/token; stopped when the test ends. Returns {address, token,
 * tokenFile, dir, log(), stored(keyId), uploads(keyId)}.
 */
async function startKeyserver(t, dir, token = 's3cret-t0ken_for.Node') {
  fs.mkdirSync(dir, { recursive: true });
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, `${token}\n`);
  const srvDir = path.join(dir, 'srv');
  // The log goes to a file: the server writes each line before it answers the call, so
  // the file holds it by the time the call returns.
  const logFile = path.join(dir, 'server.log');
  const logFd = fs.openSync(logFile, 'w');
  const child = spawn(findKeyserver(), ['--listen', '127.0.0.1:0', '--dir', srvDir, '--token_file', tokenFile], {
    stdio: ['ignore', 'pipe', logFd],
  });
  fs.closeSync(logFd);
  const log = () => {
    try {
      return fs.readFileSync(logFile, 'utf8');
    } catch {
      return ''; // removed with the test's directory
    }
  };
  const exited = new Promise((r) => child.once('exit', r));
  t.after(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  const address = await new Promise((resolve, reject) => {
    let out = '';
    const early = (code) => reject(new Error(`envector-keyserver exited (${code}) before serving: ${out} ${log()}`));
    child.stdout.on('data', (c) => {
      out += c;
      const m = / serving (\S+) /.exec(out);
      if (m) {
        child.off('exit', early);
        resolve(m[1]);
      }
    });
    child.once('exit', early);
    child.once('error', reject);
  });
  const count = (s) => log().split(s).length - 1;
  return {
    address,
    token,
    tokenFile,
    dir: srvDir,
    log,
    /** How many times the server stored an EvalKey under keyId (its log says so). */
    stored: (keyId) => count(`register_key "${keyId}": registered`),
    /** How many register_key calls for keyId the server answered. */
    uploads: (keyId) => count(`register_key "${keyId}"`),
  };
}

module.exports = { SMALL, tempDir, kekFile, tree, findMoto, startMoto, MOTO_INSTALL, findKeyserver, startKeyserver };
