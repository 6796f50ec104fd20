import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import type { RealtimeDriver } from './realtime.js';

/** What sits behind the pty in the simulation: a line endpoint, or a simulated CAN adapter. */
export interface PtyPeer {
  /** Bytes the host wrote; called inside the simulation at the current wall time. */
  fromHost(bytes: Uint8Array): void;
  /** Registers where the simulation's bytes for the host go. */
  toHost(listener: (bytes: Uint8Array) => void): void;
}

/**
 * Exposes a host-facing simulated line (or CAN adapter) as a pseudo-terminal. socat creates a linked pty pair: the
 * daemon opens `<dir>/<name>` like any serial device; the simulator opens the other end with serialport
 * (the same stack the daemon uses) and moves bytes between it and the line's host endpoint, in real time.
 */
export class PtyBridge {
  readonly path: string;
  readonly #simPath: string;
  #socat: ChildProcess | null = null;
  #port: SerialPort | null = null;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly peer: PtyPeer,
    readonly driver: RealtimeDriver,
    readonly baud: number,
  ) {
    this.path = join(dir, name);
    this.#simPath = join(dir, `.${name}.sim`);
  }

  async open(): Promise<void> {
    const socat = spawn(
      'socat',
      [`pty,raw,echo=0,link=${this.path}`, `pty,raw,echo=0,link=${this.#simPath}`],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.#socat = socat;
    let stderr = '';
    socat.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const spawnError = new Promise<never>((_, reject) => {
      socat.on('error', (e) =>
        reject(new Error(`cannot start socat for ${this.name}: ${e.message} (install socat)`)),
      );
      socat.on('exit', (code) =>
        reject(new Error(`socat for ${this.name} exited (${code}): ${stderr.trim()}`)),
      );
    });
    await Promise.race([waitForPaths([this.path, this.#simPath]), spawnError]);
    const port = new SerialPort({ path: this.#simPath, baudRate: this.baud, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    this.#port = port;
    port.on('data', (data: Buffer) => this.driver.inject(() => this.peer.fromHost(new Uint8Array(data))));
    // Like a USB-serial adapter (USB frames every 1 ms, FTDI latency timer 1–16 ms), bytes reach the
    // host in batches: what the line delivered within BATCH_MS goes out in one write. A write per
    // simulated chunk would charge the daemon one read() per 32 bytes, which no real adapter does.
    let pending: Uint8Array[] = [];
    this.peer.toHost((bytes) => {
      if (pending.length === 0) {
        setTimeout(() => {
          const chunk = Buffer.concat(pending);
          pending = [];
          if (port.isOpen) port.write(chunk);
        }, BATCH_MS);
      }
      pending.push(bytes);
    });
  }

  async close(): Promise<void> {
    const port = this.#port;
    this.#port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    this.#socat?.kill();
    this.#socat = null;
  }
}

/** Receive batching of the simulated USB-serial adapter, ms (see open()). */
const BATCH_MS = 2;

async function waitForPaths(paths: string[], timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!paths.every((p) => existsSync(p))) {
    if (Date.now() - start > timeoutMs) throw new Error(`pty links did not appear: ${paths.join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
