import { existsSync } from 'node:fs';
import { CauseCounters } from '@mcubus/protocol';
import { SerialPort } from 'serialport';
import { monotonicUs } from '../../daemon/host-clock.js';
import { TransportError, type TransportEvent } from '../transport.js';

/** Line settings of a serial port (8N1 unless said otherwise). */
export interface SerialSettings {
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits?: 5 | 6 | 7 | 8;
  readonly parity?: 'none' | 'even' | 'odd';
  readonly stopBits?: 1 | 2;
}

export interface ReopenPolicy {
  /** First retry delay after the port is lost (ms); doubles up to maxBackoffMs. Default 500. */
  readonly initialBackoffMs?: number;
  /** Default 10 000. */
  readonly maxBackoffMs?: number;
}

export interface SerialLineHooks {
  /** The port is (re)open; runs before the `open` event is emitted. May reject to fail the open. */
  readonly onOpen?: () => Promise<void> | void;
  /** Bytes arrived; `rxUs` is the host clock taken first thing in the 'data' handler. */
  readonly onData: (bytes: Uint8Array, rxUs: number) => void;
  /** The port closed (lost or stopped): drop partial input, fail pending work. */
  readonly onClosed?: () => void;
  readonly onEvent: (event: TransportEvent) => void;
}

/** Host clock in µs (monotonic). */
export function nowUs(): number {
  return monotonicUs();
}

/** Time on the wire of one character for the settings (start + data + parity + stop bits), µs. */
export function charTimeUs(s: SerialSettings): number {
  const bits = 1 + (s.dataBits ?? 8) + ((s.parity ?? 'none') === 'none' ? 0 : 1) + (s.stopBits ?? 1);
  return (bits * 1_000_000) / s.baudRate;
}

/**
 * A serial port that reopens itself with backoff when the device disappears (USB unplug: 'close' with
 * `disconnected`, or an open that fails): emits `lost` with the delay before the next try (0.5 s
 * doubling to 10 s, reset after a successful open), keeps retrying until stop(), emits `open` when back.
 * Shared by the UART, Modbus and slcan adapters.
 */
const PRESENCE_CHECK_MS = 1000;

export class SerialLine {
  readonly counters = new CauseCounters();
  readonly #initialMs: number;
  readonly #maxMs: number;
  #port: SerialPort | null = null;
  #backoffMs: number;
  #retryTimer: NodeJS.Timeout | null = null;
  /** While open: checks that the device node still exists (see #watchPresence). */
  #presenceTimer: NodeJS.Timeout | null = null;
  #stopped = true;
  #opening = false;

  constructor(
    readonly settings: SerialSettings,
    readonly hooks: SerialLineHooks,
    policy: ReopenPolicy = {},
  ) {
    this.#initialMs = policy.initialBackoffMs ?? 500;
    this.#maxMs = policy.maxBackoffMs ?? 10_000;
    this.#backoffMs = this.#initialMs;
  }

  get isOpen(): boolean {
    return this.#port?.isOpen === true;
  }

  /** Opens once; rejects with a TransportError when the port cannot be opened (no retries). */
  async start(): Promise<void> {
    this.#stopped = false;
    try {
      await this.#open();
    } catch (e) {
      this.#stopped = true;
      throw e;
    }
  }

  /** Opens, retrying with backoff for as long as it takes (until stop()); never rejects. */
  startInBackground(): void {
    this.#stopped = false;
    this.#tryOpen();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#unwatchPresence();
    const port = this.#port;
    this.#port = null;
    if (port?.isOpen) {
      await new Promise<void>((resolve) => port.close(() => resolve()));
      this.hooks.onClosed?.();
      this.hooks.onEvent({ kind: 'closed', detail: `${this.settings.path} closed` });
    }
  }

  /** Writes bytes at once; false (and counted) when the port is not open. */
  write(bytes: Uint8Array): boolean {
    const port = this.#port;
    if (!port?.isOpen) {
      this.counters.add('write_while_closed');
      return false;
    }
    this.counters.add('tx_bytes', bytes.length);
    port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (e) => {
      if (e) {
        this.counters.add('write_error');
        this.hooks.onEvent({ kind: 'error', code: 'write_failed', detail: e.message });
      }
    });
    return true;
  }

  #tryOpen(): void {
    if (this.#stopped || this.#opening) return;
    this.#open().catch((e: unknown) => {
      const detail = e instanceof Error ? e.message : String(e);
      this.#lost(detail);
    });
  }

  /** The port is gone: forget it, close what is left of it, retry with backoff. */
  #gone(port: SerialPort, detail: string): void {
    if (this.#port !== port) return;
    this.#port = null;
    this.#unwatchPresence();
    if (port.isOpen) port.close(() => undefined);
    this.hooks.onClosed?.();
    this.#lost(detail);
  }

  /**
   * A vanished device node (USB adapter unplugged, the pty's owner gone) does not always make the
   * serial binding close the port: a read that fails with EIO can be reported as an error only, or
   * not at all while the process is busy. Checking once a second that the node still exists makes
   * the loss certain within a second.
   */
  #watchPresence(port: SerialPort): void {
    this.#unwatchPresence();
    this.#presenceTimer = setInterval(() => {
      if (!existsSync(this.settings.path)) this.#gone(port, `${this.settings.path} vanished`);
    }, PRESENCE_CHECK_MS);
    this.#presenceTimer.unref();
  }

  #unwatchPresence(): void {
    if (this.#presenceTimer) clearInterval(this.#presenceTimer);
    this.#presenceTimer = null;
  }

  #lost(detail: string): void {
    if (this.#stopped) return;
    const retryInMs = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxMs);
    this.counters.add('lost');
    this.hooks.onEvent({ kind: 'lost', detail, retryInMs });
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.counters.add('reopen_attempts');
      this.#tryOpen();
    }, retryInMs);
  }

  async #open(): Promise<void> {
    const s = this.settings;
    if (!existsSync(s.path)) {
      throw new TransportError('missing_port', `serial port ${s.path} does not exist`);
    }
    this.#opening = true;
    const port = new SerialPort({
      path: s.path,
      baudRate: s.baudRate,
      dataBits: s.dataBits ?? 8,
      parity: s.parity ?? 'none',
      stopBits: s.stopBits ?? 1,
      autoOpen: false,
    });
    try {
      await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    } catch (e) {
      this.#opening = false;
      const msg = e instanceof Error ? e.message : String(e);
      throw new TransportError(
        existsSync(s.path) ? 'open_failed' : 'missing_port',
        `cannot open serial port ${s.path}: ${msg}`,
      );
    }
    this.#port = port;
    port.on('data', (data: Buffer) => {
      const rxUs = nowUs(); // first thing: the closest we get to the wire
      this.counters.add('rx_bytes', data.length);
      this.hooks.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), rxUs);
    });
    port.on('error', (e: Error) => {
      this.counters.add('port_error');
      this.hooks.onEvent({ kind: 'error', code: 'port_error', detail: e.message });
    });
    port.on('close', (e: (Error & { disconnected?: boolean }) | null) => {
      if (this.#port !== port) return; // stop() closed it
      this.#gone(
        port,
        `${s.path} ${e?.disconnected ? 'disconnected' : 'closed'}${e ? `: ${e.message}` : ''}`,
      );
    });
    this.#watchPresence(port);
    try {
      await this.hooks.onOpen?.();
    } catch (e) {
      this.#opening = false;
      this.#port = null;
      this.#unwatchPresence();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      this.hooks.onClosed?.();
      throw e;
    }
    this.#opening = false;
    if (this.#stopped) {
      await this.stop();
      return;
    }
    this.#backoffMs = this.#initialMs;
    this.counters.add('opened');
    this.hooks.onEvent({ kind: 'open', detail: `${s.path} open at ${s.baudRate} baud` });
  }
}
