import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { procStatFields } from '../src/proc-stat';
import { BASKET_NODE_FLAGS } from '../src/runtime-flags';

/** Benchmarked servers run as their own processes, so the load generator does not share their event loop. */
export interface Server {
  url: string;
  /** CPU time (user + system, all threads) the server process has used so far, in µs. */
  cpuMicros(): number;
  stop(): Promise<void>;
}

/**
 * utime + stime in seconds from a /proc stat file (/proc/PID/stat for a process, /proc/PID/task/TID/stat
 * for one thread): fields 14 and 15, in the kernel's 100 ticks a second. Throws if the file cannot be read.
 */
export function procStatCpuSeconds(statPath: string): number {
  const fields = procStatFields(statPath);
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function processCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    return procStatCpuSeconds(`/proc/${pid}/stat`) * 1e6;
  } catch {
    return NaN;
  }
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`server at ${url} not ready`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** bench/bare-server.ts in a process of its own; port 0 picks a free one (the child says which). */
export async function startBare(port: number): Promise<Server> {
  // Not the benchmark's own flags (--expose-gc): Basket's node flags, as Basket is started with them.
  const child = fork(join(__dirname, 'bare-server.js'), [String(port)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: [...BASKET_NODE_FLAGS] });
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`bare server exited with ${code}`))),
  ])) as [{ port: number }];
  return { url: `http://127.0.0.1:${message.port}`, cpuMicros: () => processCpuMicros(child.pid), stop: () => stopChild(child) };
}

export async function startBasket(port: number, env: Record<string, string> = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-bench-'));
  const child = spawn(process.execPath, [...BASKET_NODE_FLAGS, join(__dirname, '..', 'src', 'main.js')], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', BASKET_DATA_DIR: dataDir, ...env },
    stdio: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/actuator/health/liveness`, child);
  return {
    url,
    cpuMicros: () => processCpuMicros(child.pid),
    async stop() {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
