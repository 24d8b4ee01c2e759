'use strict';
// Where libenvector.so comes from. Used at run time (lib/native.js) and by the install
// script (scripts/install.js). No key logic: file names only.
//
// Order:
//   1. $ENVECTOR_LIB: the path of the library file (or of a directory holding
//      libenvector.so.0). When set it must exist: no silent fallback.
//   2. <package>/native/libenvector.so.0: bundled into the npm tarball (npm pack), or
//      built by `npm install` in a checkout that had no CMake build.
//   3. <repository>/build/cmake/lib/libenvector.so.0 when the package sits in a checkout
//      of envector-keys (bindings/node): the library `make lib` / CMake builds.
//   4. libenvector.so.0 on the system search path (`cmake --install`, ldconfig,
//      LD_LIBRARY_PATH).

const fs = require('node:fs');
const path = require('node:path');

const SONAME = 'libenvector.so.0';
const PACKAGE_DIR = path.resolve(__dirname, '..');
const NATIVE_DIR = path.join(PACKAGE_DIR, 'native');
const MODULE_LINE = 'module github.com/envector-keys/envector-keys';

// The checkout holding this package (its go.mod names the module), or null.
function repositoryRoot() {
  const root = path.resolve(PACKAGE_DIR, '..', '..');
  try {
    const gomod = fs.readFileSync(path.join(root, 'go.mod'), 'utf8');
    if (gomod.split('\n').some((l) => l.trim() === MODULE_LINE) &&
        fs.existsSync(path.join(root, 'capi'))) {
      return root;
    }
  } catch {
    // not a checkout
  }
  return null;
}

function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

// The candidate library files, in order, each with where it comes from.
function candidates(env = process.env) {
  const list = [];
  if (env.ENVECTOR_LIB) {
    let p = path.resolve(env.ENVECTOR_LIB);
    try {
      if (fs.statSync(p).isDirectory()) p = path.join(p, SONAME);
    } catch {
      // reported by locate()
    }
    list.push({ path: p, from: '$ENVECTOR_LIB', required: true });
    return list;
  }
  list.push({ path: path.join(NATIVE_DIR, SONAME), from: 'the package (native/)' });
  const root = repositoryRoot();
  if (root) {
    list.push({ path: path.join(root, 'build', 'cmake', 'lib', SONAME), from: 'the CMake build of this checkout' });
  }
  return list;
}

const HOW_TO_FIX =
  'Fix: run `npm install` in bindings/node of an envector-keys checkout (it builds the ' +
  'library with Go 1.22+, or uses build/cmake after `make lib`), or set ENVECTOR_LIB to the ' +
  'path of libenvector.so.0, or install the library system-wide (`make install`).';

// locate returns {path, from} of the library file to load, or {path: SONAME, from:
// 'the system library path'} when no file was found (koffi then asks the dynamic
// loader). With ENVECTOR_LIB set to a missing file it throws.
function locate(env = process.env) {
  const tried = [];
  for (const c of candidates(env)) {
    if (isFile(c.path)) return { path: c.path, from: c.from, tried };
    tried.push(`${c.path} (${c.from})`);
    if (c.required) {
      throw new Error(`envector-keys: ENVECTOR_LIB=${env.ENVECTOR_LIB} is not a library file (looked for ${c.path}). ${HOW_TO_FIX}`);
    }
  }
  return { path: SONAME, from: 'the system library path', tried };
}

module.exports = { SONAME, PACKAGE_DIR, NATIVE_DIR, HOW_TO_FIX, repositoryRoot, candidates, locate };
