import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NS_PER_MS, Prng, type SimBoard } from '@mcubus/firmware-sim';
import {
  Daemon,
  type DaemonLogger,
  type DaemonOptions,
  Registry,
  simRuntime,
  simTransports,
} from '@mcubus/host';

/** The daemon's logs are not what these tests look at (the journal is). */
export const quietLog: DaemonLogger = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * The real daemon bound to a simulated board, in the board's virtual time: the setup of every
 * end-to-end test and benchmark that drives mcubusd in process. `options` override any default.
 */
export function daemonOn(
  board: SimBoard,
  stateDir: string,
  options: Partial<DaemonOptions> = {},
): { daemon: Daemon; registry: Registry } {
  const runtime = simRuntime(board.sim);
  const registry = Registry.open(stateDir);
  const rng = new Prng('daemon');
  const daemon = new Daemon({
    version: 'test',
    transports: simTransports(board, runtime),
    runtime,
    registry,
    log: quietLog,
    random: () => rng.float(),
    ...options,
  });
  return { daemon, registry };
}

/** Temporary state directories, removed together by `cleanup` (call it in afterEach). */
export function stateDirs(prefix: string): { make(): string; cleanup(): void } {
  const dirs: string[] = [];
  return {
    make: () => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    cleanup: () => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** Advances virtual time in small steps, letting promise continuations run in between. */
export async function advance(board: SimBoard, seconds: number, stepMs = 20): Promise<void> {
  for (let t = 0; t < seconds * 1000; t += stepMs) {
    board.sim.runFor(stepMs * NS_PER_MS);
    await Promise.resolve();
    await Promise.resolve();
  }
}

/** Advances virtual time until the promise settles (its continuations need real microtask turns). */
export async function settle<T>(board: SimBoard, p: Promise<T>, limitMs = 10_000): Promise<T> {
  let out: { v: T } | undefined;
  p.then((v) => {
    out = { v };
  });
  for (let t = 0; t < limitMs && !out; t += 5) {
    board.sim.runFor(5 * NS_PER_MS);
    await Promise.resolve();
    await Promise.resolve();
  }
  if (!out) throw new Error(`not settled within ${limitMs} ms of virtual time`);
  return out.v;
}
