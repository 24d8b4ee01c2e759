#!/usr/bin/env node
'use strict';
// npm pack / npm publish: bundles libenvector.so.0 into native/ so the tarball installs
// anywhere without Go (prepack), and the repository's LICENSE, and removes those copies
// again afterwards (postpack), so that a checkout keeps using its CMake build. A native/
// built by scripts/install.js is left alone. `make dist` packs with ENVECTOR_LIB set to
// the CMake build's library.

const fs = require('node:fs');
const path = require('node:path');
const { SONAME, NATIVE_DIR, PACKAGE_DIR, locate, repositoryRoot } = require('../lib/locate');

const bundled = path.join(NATIVE_DIR, SONAME);
const license = path.join(PACKAGE_DIR, 'LICENSE');
// The files prepack added, one a line, for postpack to remove (outside `files`).
const marker = path.join(PACKAGE_DIR, '.native-bundled-by-pack');

function prepack() {
  const added = [];
  const where = locate();
  if (where.path !== bundled) {
    if (!path.isAbsolute(where.path)) {
      console.error(`envector-keys pack: no libenvector.so.0 to bundle (looked in ${where.tried.join('; ')}); run npm install first.`);
      process.exit(1);
    }
    fs.mkdirSync(NATIVE_DIR, { recursive: true });
    fs.copyFileSync(fs.realpathSync(where.path), bundled);
    added.push(bundled);
    console.error(`envector-keys pack: bundled ${where.path} as native/${SONAME}`);
  }
  const root = repositoryRoot();
  if (!fs.existsSync(license) && root && fs.existsSync(path.join(root, 'LICENSE'))) {
    fs.copyFileSync(path.join(root, 'LICENSE'), license);
    added.push(license);
  }
  if (added.length > 0) fs.writeFileSync(marker, `${added.join('\n')}\n`);
}

function postpack() {
  if (!fs.existsSync(marker)) return;
  for (const f of fs.readFileSync(marker, 'utf8').split('\n')) {
    if (f === bundled || f === license) fs.rmSync(f, { force: true });
  }
  fs.rmSync(marker, { force: true });
  if (fs.existsSync(NATIVE_DIR) && fs.readdirSync(NATIVE_DIR).length === 0) fs.rmdirSync(NATIVE_DIR);
}

const which = process.argv[2];
if (which === 'prepack') prepack();
else if (which === 'postpack') postpack();
else {
  console.error('usage: node scripts/pack.js prepack|postpack');
  process.exit(2);
}
