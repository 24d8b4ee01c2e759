'use strict';
// The package as a user gets it: `npm pack` (which bundles libenvector.so.0), then
// `npm install` of the tarball into a new project, the README's example run there, and
// its TypeScript twin type-checked with `tsc --noEmit` against the installed types. And
// `npm install <checkout>/bindings/node` from another project (npm links the folder and
// installs none of its dependencies: the install script puts koffi there). The tarball
// of `make dist`, installed with Go off PATH, is tests/dist's.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { tempDir } = require('./helpers');

const PKG = path.resolve(__dirname, '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function installedVersion(name) {
  return JSON.parse(fs.readFileSync(path.join(PKG, 'node_modules', name, 'package.json'), 'utf8')).version;
}

// The environment of a user: no ENVECTOR_LIB pointing at the checkout.
function userEnv() {
  const env = { ...process.env };
  delete env.ENVECTOR_LIB;
  return env;
}

function run(cmd, args, cwd) {
  try {
    return execFileSync(cmd, args, { cwd, env: userEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed with status ${e.status}:\n${e.stdout}\n${e.stderr}`);
  }
}

test("the README's Node example is examples/quickstart.js", () => {
  const example = fs.readFileSync(path.join(PKG, 'examples', 'quickstart.js'), 'utf8');
  const blocks = (file) => [...fs.readFileSync(file, 'utf8').matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .filter((b) => b.includes("require('envector-keys')"));
  const own = blocks(path.join(PKG, 'README.md'));
  assert.equal(own.length, 1, 'bindings/node/README.md has one Node example');
  assert.equal(own[0], example);
  // The repository's README (the front door; the tests run in a checkout) shows it too.
  const root = blocks(path.resolve(PKG, '..', '..', 'README.md'));
  assert.equal(root.length, 1, 'README.md shows the Node example once');
  assert.equal(root[0], example, 'README.md: the Node example differs from examples/quickstart.js');
});

test('npm pack, npm install of the tarball in a new project, the example runs and type-checks', { timeout: 300000 }, (t) => {
  const dir = tempDir(t, 'envector-pack-');
  const packed = JSON.parse(run(NPM, ['pack', '--json', '--pack-destination', dir], PKG));
  const tarball = path.join(dir, packed[0].filename);
  assert.ok(packed[0].files.some((f) => f.path === 'native/libenvector.so.0'), 'the library is bundled');
  assert.ok(packed[0].files.some((f) => f.path === 'index.d.ts'));
  assert.ok(!fs.existsSync(path.join(PKG, '.native-bundled-by-pack')), 'postpack cleaned up');

  const project = path.join(dir, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'quickstart', version: '1.0.0', private: true }));
  // typescript and @types/node at the versions this package's own install fetched (so
  // npm's cache has them).
  run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball,
    `typescript@${installedVersion('typescript')}`, `@types/node@${installedVersion('@types/node')}`], project);

  const where = run(process.execPath, ['-p', "require('envector-keys').libraryPath"], project).trim();
  assert.equal(where, path.join(fs.realpathSync(project), 'node_modules', 'envector-keys', 'native', 'libenvector.so.0'));

  fs.copyFileSync(path.join(PKG, 'examples', 'quickstart.js'), path.join(project, 'quickstart.js'));
  const out = run(process.execPath, ['quickstart.js'], project);
  t.diagnostic(out.trim().split('\n').join(' | '));
  assert.match(out, /register my-index: EvalKey \d+ bytes/);
  assert.match(out, /created true, sealed true/);
  assert.match(out, /verified; key sets: \[ 'my-index' \]/);

  fs.copyFileSync(path.join(PKG, 'examples', 'quickstart.ts'), path.join(project, 'quickstart.ts'));
  fs.copyFileSync(path.join(PKG, 'examples', 'tsconfig.json'), path.join(project, 'tsconfig.json'));
  run(path.join(project, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], project);
  // Every part of index.d.ts, as an application uses it.
  fs.copyFileSync(path.join(__dirname, 'types-check.ts'), path.join(project, 'types-check.ts'));
  run(path.join(project, 'node_modules', '.bin', 'tsc'), ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--types', 'node', 'types-check.ts'], project);

  // And a mistake is caught by the types: tsc is really checking against index.d.ts.
  fs.writeFileSync(path.join(project, 'quickstart.ts'), "import { KeyGenerator } from 'envector-keys';\nnew KeyGenerator({ keyId: 1 });\n");
  assert.throws(() => run(path.join(project, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', '.'], project), /quickstart.ts\(2,\d+\): error TS2322/);
});

// A checkout as a user has it before building: the Go module and the package, no
// build/ (so the install script builds with go build) and no node_modules.
function sourceCopy(dest) {
  const root = path.resolve(PKG, '..', '..');
  const skip = (src) => /(^|\/)(node_modules|native|testdata|build)$/.test(src) || src.endsWith('_test.go') ||
    src.endsWith('.native-bundled-by-pack');
  for (const entry of ['go.mod', 'go.sum', 'capi', 'core', 'internal', 'include', path.join('bindings', 'node')]) {
    fs.cpSync(path.join(root, entry), path.join(dest, entry), { recursive: true, filter: (src) => !skip(src) });
  }
  return dest;
}

test('npm install <checkout>/bindings/node from another project links it, installs koffi into it, builds the library', { timeout: 300000 }, (t) => {
  const dir = tempDir(t, 'envector-link-');
  const checkout = sourceCopy(path.join(dir, 'checkout'));
  const folder = path.join(checkout, 'bindings', 'node');
  const lockBefore = fs.readFileSync(path.join(folder, 'package-lock.json'), 'utf8');
  assert.ok(!fs.existsSync(path.join(folder, 'node_modules')));
  const project = path.join(dir, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'linked', version: '1.0.0', private: true }));

  const out = run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', folder], project);
  t.diagnostic(out.trim().split('\n').filter((l) => l.includes('envector-keys install')).join(' | '));
  assert.ok(fs.lstatSync(path.join(project, 'node_modules', 'envector-keys')).isSymbolicLink(), 'npm linked the folder');
  assert.match(out, /koffi is not installed in .* installing the runtime dependencies there/);
  assert.match(out, /envector-keys install: go build -buildmode=c-shared/);
  // koffi went into the folder (what the package's require sees), dev dependencies did
  // not, and the lock file is as it was.
  assert.ok(fs.existsSync(path.join(folder, 'node_modules', 'koffi', 'package.json')));
  assert.ok(!fs.existsSync(path.join(folder, 'node_modules', 'typescript')));
  assert.equal(fs.readFileSync(path.join(folder, 'package-lock.json'), 'utf8'), lockBefore);

  const script = `
    const ek = require('envector-keys');
    const kg = new ek.KeyGenerator({ keyPath: 'keys', keyId: 'linked', preset: 'ip0', evalMode: 'rmp', dimList: [32] });
    kg.generateKeysSync();
    const km = new ek.KeyManager({ keyPath: 'keys', keyId: 'linked' });
    console.log(ek.libraryPath, Object.keys(km.loadSync()).length);
    km.close();`;
  const [where, roles] = run(process.execPath, ['-e', script], project).trim().split(' ');
  assert.equal(where, path.join(fs.realpathSync(folder), 'native', 'libenvector.so.0'));
  assert.equal(roles, '4');
});
