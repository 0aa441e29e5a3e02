#!/usr/bin/env node
// Fails when openapi/openapi.json differs from what the route schemas generate (run after build).
'use strict';
const { mkdtempSync, readFileSync, rmSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'basket-openapi-check-'));
const fresh = join(dir, 'openapi.json');
const gen = spawnSync(process.execPath, [join(root, 'dist', 'scripts', 'write-openapi.js'), fresh], { stdio: 'inherit' });
if (gen.status !== 0) process.exit(gen.status ?? 1);
const committedPath = join(root, 'openapi', 'openapi.json');
const committed = existsSync(committedPath) ? readFileSync(committedPath, 'utf8') : '';
const generated = readFileSync(fresh, 'utf8');
rmSync(dir, { recursive: true, force: true });
if (committed !== generated) {
  console.error('openapi/openapi.json is stale: the route schemas changed. Run `npm run openapi` and commit the result.');
  process.exit(1);
}
console.log('openapi/openapi.json matches the route schemas');
