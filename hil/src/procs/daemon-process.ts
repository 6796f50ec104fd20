import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { ApiClient } from '@mcubus/host';
import { RigSetupError } from '../errors.js';
import { until } from '../wait.js';
import { resolveArgv } from './argv.js';
import { track } from './started.js';

/** mcubusd, started by the rig on the configuration it wrote, with its log in the work directory. */
export class DaemonProcess {
  readonly client: ApiClient;
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #tail = '';

  constructor(
    readonly command: readonly string[],
    readonly configFile: string,
    readonly socket: string,
    readonly logFile: string,
    readonly cwd: string,
  ) {
    this.client = new ApiClient({ socketPath: socket });
  }

  async start(): Promise<void> {
    const { file, args } = resolveArgv(this.command);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(file, [...args, '--config', this.configFile], {
      cwd: this.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const untrack = track(() => child.kill('SIGKILL'));
    const keep = (d: Buffer) => {
      log.write(d);
      this.#tail = (this.#tail + d.toString()).slice(-3000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let exit = '';
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        untrack();
        exit = `exited (${signal ?? code})`;
        this.#child = null;
        log.end();
        resolve();
      });
    });
    child.once('error', (e) => {
      exit = `cannot start ${file}: ${e.message}`;
    });
    try {
      await until(
        async () => {
          if (exit) throw new RigSetupError(`mcubusd ${exit}: ${this.#tail.trim()}`);
          return this.client.status().catch(() => undefined);
        },
        { ms: 20_000, what: 'mcubusd answering on its socket', seen: () => this.#tail.trim().slice(-500) },
      );
    } catch (e) {
      await this.stop();
      throw e instanceof RigSetupError ? e : new RigSetupError((e as Error).message);
    }
  }

  /** SIGTERM (the daemon closes its ports and flushes its registry), SIGKILL if it hangs. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(late);
  }
}
