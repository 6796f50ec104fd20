import { type CanFrame, CauseCounters } from '@mcubus/protocol';
import { TransportError, type TransportEvent } from '../transport.js';
import { nowUs } from '../uart/serial-line.js';
import type { CanMedia } from './can-media.js';

export interface SocketcanMediaOptions {
  /** Network interface, e.g. can0 or vcan0. */
  readonly iface: string;
}

/** The part of the `socketcan` package's API we use (typed here: it is loaded lazily). */
interface RawMessage {
  id: number;
  ext: boolean;
  rtr: boolean;
  data: Buffer;
  err?: boolean;
  /** Kernel receive timestamp (CLOCK_REALTIME), present when the channel was opened with timestamps. */
  ts_sec?: number;
  ts_usec?: number;
}
interface RawChannel {
  addListener(event: 'onMessage' | 'onStopped', callback: (msg: RawMessage) => void): void;
  start(): void;
  stop(): void;
  send(message: RawMessage): void;
  sendFD(message: RawMessage): void;
}
interface SocketcanModule {
  createRawChannel(iface: string, timestamps?: boolean): RawChannel;
}

/** Wall clock in µs (sub-ms resolution), the clock SocketCAN's SIOCGSTAMP timestamps are on. */
function wallClockUs(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

/**
 * A kernel receive timestamp (wall clock) moved onto the host's monotonic clock: the frame arrived
 * `age` µs ago. A missing stamp, or one that is in the future or more than a second old (the wall
 * clock was stepped), falls back to now.
 */
export function kernelStampToMonotonic(
  tsSec: number | undefined,
  tsUsec: number | undefined,
  wallNowUs: number,
  monoNowUs: number,
): number {
  if (tsSec === undefined || tsUsec === undefined || (tsSec === 0 && tsUsec === 0)) return monoNowUs;
  const age = wallNowUs - (tsSec * 1e6 + tsUsec);
  return age >= 0 && age < 1_000_000 ? monoNowUs - age : monoNowUs;
}

const HINT = 'SocketCAN needs the socketcan package and a CAN interface (vcan0/can0)';

/**
 * CAN through Linux SocketCAN. The `socketcan` native package is imported on start(), so that a host
 * without it (or without kernel CAN support) can still run every other transport.
 */
export class SocketcanMedia implements CanMedia {
  readonly #counters = new CauseCounters();
  readonly #frameListeners: ((frame: CanFrame, rxUs: number) => void)[] = [];
  readonly #eventListeners: ((event: TransportEvent) => void)[] = [];
  #channel: RawChannel | null = null;

  constructor(readonly options: SocketcanMediaOptions) {}

  async start(): Promise<void> {
    let mod: SocketcanModule;
    try {
      const specifier = 'socketcan';
      const imported = (await import(specifier)) as { default?: SocketcanModule } & Partial<SocketcanModule>;
      mod = (imported.createRawChannel ? imported : imported.default) as SocketcanModule;
    } catch (e) {
      throw new TransportError('unsupported', `${HINT}: ${e instanceof Error ? e.message : String(e)}`);
    }
    let channel: RawChannel;
    try {
      // Kernel timestamps: taken when the driver received the frame, not when Node got around to it
      // (docs/time.md — the receive stamp of a time-sync exchange).
      channel = mod.createRawChannel(this.options.iface, true);
    } catch (e) {
      throw new TransportError(
        'unsupported',
        `${HINT}: cannot open ${this.options.iface}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    channel.addListener('onMessage', (msg) => {
      const rxUs = kernelStampToMonotonic(msg.ts_sec, msg.ts_usec, wallClockUs(), nowUs());
      if (msg.err || msg.rtr) {
        this.#counters.add(msg.err ? 'error_frames' : 'rtr_frames');
        if (msg.err)
          this.#emit({
            kind: 'error',
            code: 'can_error_frame',
            detail: `error frame id 0x${msg.id.toString(16)}`,
          });
        return;
      }
      this.#counters.add('rx_frames');
      const data = new Uint8Array(msg.data);
      const frame: CanFrame = { id: msg.id, extended: msg.ext, fd: data.length > 8, data };
      for (const l of this.#frameListeners) l(frame, rxUs);
    });
    channel.addListener('onStopped', () => {
      if (this.#channel !== channel) return;
      this.#channel = null;
      this.#emit({ kind: 'closed', detail: `${this.options.iface} stopped` });
    });
    channel.start();
    this.#channel = channel;
    this.#emit({ kind: 'open', detail: `SocketCAN ${this.options.iface}` });
  }

  async stop(): Promise<void> {
    const channel = this.#channel;
    this.#channel = null;
    channel?.stop();
  }

  send(frame: CanFrame): void {
    const channel = this.#channel;
    if (!channel) {
      this.#counters.add('tx_dropped_closed');
      return;
    }
    const msg: RawMessage = { id: frame.id, ext: frame.extended, rtr: false, data: Buffer.from(frame.data) };
    try {
      if (frame.fd) channel.sendFD(msg);
      else channel.send(msg);
      this.#counters.add('tx_frames');
    } catch (e) {
      this.#counters.add('tx_error');
      this.#emit({ kind: 'error', code: 'send_failed', detail: e instanceof Error ? e.message : String(e) });
    }
  }

  onFrame(listener: (frame: CanFrame, rxUs: number) => void): void {
    this.#frameListeners.push(listener);
  }

  onEvent(listener: (event: TransportEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  counters(): Record<string, number> {
    return this.#counters.snapshot();
  }

  #emit(event: TransportEvent): void {
    for (const l of this.#eventListeners) l(event);
  }
}
