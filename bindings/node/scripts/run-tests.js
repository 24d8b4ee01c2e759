#!/usr/bin/env node
'use strict';
// Runs the node:test suite (test/*.test.js, each file in its own process) with the spec
// reporter, then prints "N passed, N failed" and exits non-zero when a test failed, a
// file could not run, or no test ran at all.
//
//   node scripts/run-tests.js [file ...]

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { run } = require('node:test');
const { spec } = require('node:test/reporters');

const dir = path.join(__dirname, '..', 'test');
const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => path.resolve(f))
  : fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort().map((f) => path.join(dir, f));

let passed = 0;
let failed = 0;
const start = Date.now();

const stream = run({
  files,
  concurrency: Math.max(2, os.availableParallelism ? os.availableParallelism() : os.cpus().length),
  timeout: 10 * 60 * 1000,
});

// A file is also reported as a test of its own (named by its path) when it holds no
// test or fails to load: the first is no test, the second a failure.
const isFile = (data) => data.file && data.name === data.file;
stream.on('test:pass', (data) => {
  if (!isFile(data) && !(data.details && data.details.type === 'suite')) passed++;
});
stream.on('test:fail', (data) => {
  if (!(data.details && data.details.type === 'suite')) failed++;
});

const report = stream.compose(spec);
report.pipe(process.stdout);

report.on('end', () => {
  const secs = ((Date.now() - start) / 1000).toFixed(1);
  process.stdout.write(`\nnode binding: ${files.length} files in ${secs} s\n`);
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  if (failed > 0 || passed === 0) {
    if (passed === 0 && failed === 0) process.stdout.write('no test ran: that is a failure\n');
    process.exitCode = 1;
  }
});
