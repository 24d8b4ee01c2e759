#!/usr/bin/env node
'use strict';
// `npm install` step: makes sure libenvector.so.0 is there for lib/native.js.
//
//   - $ENVECTOR_LIB set: that file must exist; nothing is built.
//   - in a checkout of envector-keys (this package at bindings/node):
//       * build/cmake configured (`make lib` or cmake ran): brings that build up to date
//         (`cmake --build build/cmake --target envector_go`; a no-op when it is);
//       * otherwise: builds the library into native/ with `go build`, with the same
//         flags as CMakeLists.txt (c-shared, -trimpath, SONAME, version script).
//   - a packed package (npm pack) carries native/libenvector.so.0 already: nothing is
//     built, and Go is not needed.
// `npm install <checkout>/bindings/node` from another project links the folder and
// installs none of its dependencies: koffi is then missing from the folder (and the
// program's require, which follows the link, would not find it). In that case its
// runtime dependencies (koffi, from package-lock.json) are installed into the folder.
// Ends by loading the library and printing its version.

const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { SONAME, NATIVE_DIR, PACKAGE_DIR, HOW_TO_FIX, repositoryRoot } = require('../lib/locate');

function fail(msg) {
  console.error(`envector-keys install: ${msg}`);
  process.exit(1);
}

function run(cmd, args, opts) {
  console.log(`envector-keys install: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error && r.error.code === 'ENOENT') return { missing: true };
  return { ok: r.status === 0, status: r.status, signal: r.signal };
}

function has(cmd) {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  return !r.error;
}

function sonameMajor(root) {
  const header = fs.readFileSync(path.join(root, 'include', 'envector.h'), 'utf8');
  const m = /^#define ENVECTOR_VERSION_MAJOR (\d+)/m.exec(header);
  if (!m) fail('include/envector.h has no ENVECTOR_VERSION_MAJOR');
  return m[1];
}

function goBuild(root) {
  const go = process.env.GO || 'go';
  if (!has(go)) {
    fail(`\`${go}\` was not found, and it is needed to build libenvector from this checkout. ` +
      'Install Go 1.22 or later (https://go.dev/dl/), or set ENVECTOR_LIB to an existing libenvector.so.0.');
  }
  fs.mkdirSync(NATIVE_DIR, { recursive: true });
  const out = path.join(NATIVE_DIR, SONAME);
  const soname = `libenvector.so.${sonameMajor(root)}`;
  const extld = `-Wl,-soname,${soname} -Wl,--version-script=${path.join(root, 'capi', 'envector.map')}`;
  const r = run(go, ['build', '-buildmode=c-shared', '-trimpath', `-ldflags=-extldflags '${extld}'`, '-o', out, './capi'], {
    cwd: root,
    env: { ...process.env, CGO_ENABLED: '1' },
  });
  if (!r.ok) fail(`go build failed (status ${r.status}); see the messages above.`);
  // cgo also writes its own header next to the library: not needed.
  for (const f of fs.readdirSync(NATIVE_DIR)) {
    if (f.endsWith('.h')) fs.rmSync(path.join(NATIVE_DIR, f));
  }
}

// koffi as this package's own require() sees it: from a linked folder the project's
// node_modules are not on that path.
function hasKoffi() {
  try {
    require.resolve('koffi', { paths: [PACKAGE_DIR] });
    return true;
  } catch {
    return false;
  }
}

// Installs the runtime dependencies into this package's folder, from its lock file,
// without running install scripts (ours would recurse; koffi's prebuilt binary comes
// as an optional dependency) and without touching package.json or package-lock.json.
function installOwnDependencies() {
  const args = ['install', '--omit=dev', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund'];
  const npmCli = process.env.npm_execpath;
  const r = npmCli && npmCli.endsWith('.js')
    ? run(process.execPath, [npmCli, ...args], { cwd: PACKAGE_DIR })
    : run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd: PACKAGE_DIR });
  if (r.missing) fail(`koffi is not installed in ${PACKAGE_DIR} and npm was not found to install it; run \`npm install\` there.`);
  if (!r.ok) fail(`installing koffi into ${PACKAGE_DIR} failed (status ${r.status}); run \`npm install\` there and see its messages.`);
  if (!hasKoffi()) fail(`koffi is still not found from ${PACKAGE_DIR} after npm install; run \`npm install\` there.`);
}

function main() {
  if (!hasKoffi()) {
    console.log(`envector-keys install: koffi is not installed in ${PACKAGE_DIR} (installed as a linked folder?); installing the runtime dependencies there`);
    installOwnDependencies();
  }
  if (process.env.ENVECTOR_LIB) {
    if (!fs.existsSync(process.env.ENVECTOR_LIB)) fail(`ENVECTOR_LIB=${process.env.ENVECTOR_LIB} does not exist. ${HOW_TO_FIX}`);
    console.log(`envector-keys install: using ENVECTOR_LIB=${process.env.ENVECTOR_LIB}`);
  } else {
    const root = repositoryRoot();
    if (root) {
      const cmakeDir = path.join(root, 'build', 'cmake');
      if (fs.existsSync(path.join(cmakeDir, 'build.ninja')) || fs.existsSync(path.join(cmakeDir, 'Makefile'))) {
        const r = run('cmake', ['--build', cmakeDir, '--target', 'envector_go'], { cwd: root });
        if (r.missing) fail('build/cmake exists but `cmake` was not found; install CMake, or remove build/cmake to build with `go build` alone.');
        if (!r.ok) fail(`cmake --build failed (status ${r.status}); see the messages above.`);
        // The CMake build is now current: a library built here earlier would shadow it.
        fs.rmSync(NATIVE_DIR, { recursive: true, force: true });
      } else {
        goBuild(root);
      }
    } else if (!fs.existsSync(path.join(NATIVE_DIR, SONAME))) {
      console.log('envector-keys install: no bundled library and not in a checkout; libenvector.so.0 must be on the system library path.');
    }
  }
  // Prove it loads.
  const child = spawnSync(process.execPath, ['-e', "const m=require('./index.js'); console.log('envector-keys install: libenvector ' + m.libraryVersion() + ' from ' + m.libraryPath)"], {
    cwd: path.resolve(__dirname, '..'),
    stdio: 'inherit',
  });
  if (child.status !== 0) fail('the library does not load (see above).');
}

main();
