import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

/** Benchmarked servers run as their own processes, so the load generator does not share their event loop. */
export interface Server {
  url: string;
  /** CPU time (user + system, all threads) the server process has used so far, in µs. */
  cpuMicros(): number;
  stop(): Promise<void>;
}

/** utime + stime of a process from /proc/PID/stat (fields 14 and 15, in clock ticks of 10 ms). */
function processCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
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

export async function startBare(port: number): Promise<Server> {
  const child = spawn(process.execPath, [join(__dirname, 'bare-server.js'), String(port)], { stdio: 'inherit' });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/`, child);
  return { url, cpuMicros: () => processCpuMicros(child.pid), stop: () => stopChild(child) };
}

export async function startBasket(port: number, env: Record<string, string> = {}): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), 'basket-bench-'));
  const child = spawn(process.execPath, [join(__dirname, '..', 'src', 'main.js')], {
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
