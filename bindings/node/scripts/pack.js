#!/usr/bin/env node
'use strict';
// npm pack / npm publish: bundles libenvector.so.0 into native/ so the tarball installs
// anywhere without Go (prepack), and removes that copy again afterwards (postpack), so
// that a checkout keeps using its CMake build. A native/ built by scripts/install.js is
// left alone.

const fs = require('node:fs');
const path = require('node:path');
const { SONAME, NATIVE_DIR, PACKAGE_DIR, locate } = require('../lib/locate');

const bundled = path.join(NATIVE_DIR, SONAME);
const marker = path.join(PACKAGE_DIR, '.native-bundled-by-pack'); // outside `files`

function prepack() {
  const where = locate();
  if (where.path === bundled) return; // already there (built by install.js)
  if (!path.isAbsolute(where.path)) {
    console.error(`envector-keys pack: no libenvector.so.0 to bundle (looked in ${where.tried.join('; ')}); run npm install first.`);
    process.exit(1);
  }
  fs.mkdirSync(NATIVE_DIR, { recursive: true });
  fs.copyFileSync(fs.realpathSync(where.path), bundled);
  fs.writeFileSync(marker, `${where.path}\n`);
  console.error(`envector-keys pack: bundled ${where.path} as native/${SONAME}`);
}

function postpack() {
  if (!fs.existsSync(marker)) return;
  fs.rmSync(bundled, { force: true });
  fs.rmSync(marker, { force: true });
  if (fs.readdirSync(NATIVE_DIR).length === 0) fs.rmdirSync(NATIVE_DIR);
}

const which = process.argv[2];
if (which === 'prepack') prepack();
else if (which === 'postpack') postpack();
else {
  console.error('usage: node scripts/pack.js prepack|postpack');
  process.exit(2);
}
