import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface SimPort {
  readonly port: string;
  readonly kind: string;
  readonly path: string;
  readonly baud: number;
  readonly protocol?: string;
}

const root = join(import.meta.dirname, '../..');

/** Runs a TypeScript entry point of the workspace in a child process (sources, not builds). */
export function spawnTs(entry: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(root, entry), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts `mcubus-sim` in process mode and waits until its ports are up. */
export async function startSimulator(args: string[]): Promise<{ child: ChildProcess; ports: SimPort[] }> {
  const child = spawnTs('firmware-sim/src/cli.ts', args);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const ports: SimPort[] = [];
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator not ready after 20 s: ${stderr}`)), 20_000);
    child.once('exit', (code) => reject(new Error(`simulator exited (${code}): ${stderr}`)));
    lines.on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.port) ports.push(msg);
      if (msg.ready) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, ports };
}

/** Polls `check` until it returns a value or `ms` pass. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms: number,
  what: string,
  /** What was last seen, for the failure message. */
  seen?: () => string,
): Promise<T> {
  const start = Date.now();
  let last: unknown;
  while (Date.now() - start < ms) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const detail = last ? `: ${(last as Error).message}` : seen ? `; last seen ${seen()}` : '';
  throw new Error(`${what} not reached within ${ms} ms${detail}`);
}
