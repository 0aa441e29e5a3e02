import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

/** Benchmarked servers run as their own processes, so the load generator does not share their event loop. */
export interface Server {
  url: string;
  stop(): Promise<void>;
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
  return { url, stop: () => stopChild(child) };
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
    async stop() {
      await stopChild(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
