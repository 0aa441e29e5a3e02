import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { LoadCase, LoadResult } from './sse-load';

/** Runs one load case in a process of its own (sse-load.js: producer and subscribers), resolving with the result it sends back before it exits. */
export function runLoadCase(c: LoadCase): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'sse-load.js'), [JSON.stringify(c)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: LoadResult | undefined;
    child.on('message', (m) => (result = m as LoadResult));
    child.on('exit', (code) => (result !== undefined ? resolve(result) : reject(new Error(`load process exited with ${code}`))));
  });
}
