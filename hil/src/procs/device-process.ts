import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { RigSetupError } from '../errors.js';
import type { ProcessSpec } from '../rig/types.js';
import { resolveArgv } from './argv.js';
import { track } from './started.js';

const READY_TIMEOUT_MS = 20_000;
const PATH_POLL_MS = 50;

/**
 * A device process of the rig — "a command that serves a pty" (the simulator, a POSIX build of the
 * firmware). It runs in its own process group, so a power cut (SIGKILL of the group) also takes the
 * helpers it started (socat holding the pty), as a real power cut takes the whole board.
 */
export class DeviceProcess {
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #log: WriteStream;
  /** How many times it was started. */
  starts = 0;

  constructor(
    readonly spec: ProcessSpec,
    readonly cwd: string,
    logFile: string,
  ) {
    this.#log = createWriteStream(logFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.#child !== null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts the process and resolves once it says (or shows) that it serves. */
  async start(): Promise<void> {
    if (this.#child) return;
    const { file, args } = resolveArgv(this.spec.command);
    this.starts++;
    this.#log.write(`--- start ${this.starts}: ${this.spec.command.join(' ')}\n`);
    const child = spawn(file, args, { cwd: this.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const untrack = track(() => killGroup(child.pid ?? 0, 'SIGKILL'));
    let tail = '';
    const keep = (d: Buffer) => {
      this.#log.write(d);
      tail = (tail + d.toString()).slice(-2000);
    };
    child.stderr!.on('data', keep);
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        untrack();
        if (this.#child === child) this.#child = null;
        resolve();
      });
    });
    const ready = this.spec.ready;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        if (error) reject(error);
        else resolve();
      };
      // A deadline, not pacing: a process that never says it is ready is a rig failure.
      const deadline = setTimeout(
        () =>
          finish(
            new RigSetupError(
              `${this.spec.name} not ready after ${READY_TIMEOUT_MS / 1000} s: ${tail.trim()}`,
            ),
          ),
        READY_TIMEOUT_MS,
      );
      child.once('error', (e) =>
        finish(new RigSetupError(`cannot start ${this.spec.name} (${file}): ${e.message}`)),
      );
      child.once('exit', (code, signal) =>
        finish(
          new RigSetupError(
            `${this.spec.name} exited (${signal ?? code}) before it was ready: ${tail.trim()}`,
          ),
        ),
      );
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        this.#log.write(`${line}\n`);
        tail = (tail + line).slice(-2000);
        if ('stdout' in ready && ready.stdout.test(line)) finish();
      });
      if ('path' in ready) {
        // Nothing announces a device node; a dangling link left by a killed process does not count
        // (existsSync follows it).
        const poll = () => {
          if (settled) return;
          if (existsSync(ready.path)) finish();
          else setTimeout(poll, PATH_POLL_MS);
        };
        poll();
      }
    });
  }

  /** Ends the process group with `signal` and resolves when the process has exited. */
  async stop(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child?.pid) return;
    this.#log.write(`--- ${signal}\n`);
    killGroup(child.pid, signal);
    if (signal === 'SIGTERM') {
      const late = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 5000);
      await this.#exited;
      clearTimeout(late);
      // What the process started and did not stop itself (its own children) goes too.
      killGroup(child.pid, 'SIGKILL');
    } else {
      await this.#exited;
    }
  }

  close(): void {
    this.#log.end();
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
