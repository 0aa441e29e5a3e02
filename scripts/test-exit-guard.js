// Loaded into every test file's process by run-tests.js (--require). A test file must release all
// it opened (servers, clients, timers, child processes): node's test runner waits for each file's
// process to exit, so one leaked handle would hold the whole run until CI's time limit. This makes
// such a file fail instead, naming what is still open.
'use strict';
// Only in the processes that run a file; the runner's own process has nothing to check.
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  const { after } = require('node:test');
  const GRACE_MS = 30_000;
  // A root-level hook, registered before any file's own: its timer starts when the tests are done,
  // while later root hooks may still be closing things, hence the grace. Unref'd, so a process
  // that has nothing left exits at once.
  after(() => {
    setTimeout(() => {
      const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      process.stderr.write(`${process.argv[1]}: still running ${GRACE_MS / 1000} s after its last test; open handles: ${open.join(', ')}\n`);
      process.exit(1);
    }, GRACE_MS).unref();
  });
}
