import { spawnSync } from 'node:child_process';
import { BASKET_NODE_FLAGS, startedWithBasketFlags } from '../src/runtime-flags';

/**
 * For benchmarks that run Basket's server in their own process: when this process was not started
 * with the node flags Basket ships with (src/runtime-flags.ts), runs the same script again with
 * them (and this process's other flags), waits for it and exits with its status. So the measured
 * server is the one `npm start` runs, whatever command line started the benchmark.
 */
export function runWithBasketFlags(): void {
  if (startedWithBasketFlags()) return;
  const args = [...process.execArgv, ...BASKET_NODE_FLAGS, process.argv[1] as string, ...process.argv.slice(2)];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
