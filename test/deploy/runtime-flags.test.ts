import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASKET_NODE_FLAGS } from '../../src/runtime-flags';
import { ROOT } from './deploy-files';

const RUNTIME_FLAGS_JS = join(__dirname, '..', '..', 'src', 'runtime-flags.js');

/** What startedWithBasketFlags() says in a fresh node started with `flags`. */
function startedWithFlags(flags: readonly string[]): boolean {
  const out = execFileSync(process.execPath, [...flags, '-e', `process.stdout.write(String(require(${JSON.stringify(RUNTIME_FLAGS_JS)}).startedWithBasketFlags()))`], { encoding: 'utf8' });
  return out === 'true';
}

test('npm start and the Dockerfile start node with the flags Basket ships with', () => {
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start as string;
  const cmd = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').match(/^CMD\s+(\[.*\])\s*$/m)?.[1];
  assert.ok(cmd !== undefined, 'the Dockerfile has an exec-form CMD');
  const argv = JSON.parse(cmd) as string[];
  assert.equal(argv[0], 'node');
  assert.equal(argv[argv.length - 1], 'dist/src/main.js');
  assert.ok(start.includes(`node ${BASKET_NODE_FLAGS.join(' ')} dist/src/main.js`), `npm start: ${start}`);
  assert.deepEqual(argv.slice(1, -1), [...BASKET_NODE_FLAGS], `Dockerfile CMD ${cmd}`);
});

test('startedWithBasketFlags tells a node started with the flags from one without', () => {
  assert.equal(startedWithFlags(BASKET_NODE_FLAGS), true);
  assert.equal(startedWithFlags([]), false);
});
