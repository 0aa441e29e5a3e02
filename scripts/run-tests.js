#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's own test runner.
// Node 20's --test takes no globs, so the files are found here. Arguments filter by substring:
//   node scripts/run-tests.js codec partitioner
'use strict';
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

function find(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(find(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = find(join(__dirname, '..', 'dist', 'test'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Bounds, so that a test that hangs fails the run instead of holding it until CI's time limit:
// - FILE_TIMEOUT_MS: node applies --test-timeout to each file's whole run too, so it is above the
//   slowest file (the crash loops, about a minute here) with room for a slower machine;
// - test-exit-guard.js fails a file whose process lingers after its last test;
// - RUN_TIMEOUT_MS: the whole run, killed with what it printed so far.
// One file at a time, as on the 2-core machines the suite is written on (node's default there):
// the kafka group tests wait on the mock cluster's rebalance timers, which a busier machine delays.
const FILE_TIMEOUT_MS = 600_000;
const RUN_TIMEOUT_MS = 40 * 60_000;
const args = ['--enable-source-maps', '--require', join(__dirname, 'test-exit-guard.js'), `--test-timeout=${FILE_TIMEOUT_MS}`, '--test-concurrency=1', '--test', ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
if (result.error) console.error(`run-tests: ${result.error.message}`);
else if (result.signal) console.error(`run-tests: the test run was stopped (${result.signal}) after ${RUN_TIMEOUT_MS / 60_000} minutes`);
process.exit(result.status ?? 1);
