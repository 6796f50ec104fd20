import type { SimTime, Timer } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import type { LineEndpointCounters } from './uart-counters.js';
import { hexPreview } from './uart-hex.js';
import type { CharReport, CharSink } from './uart-wire.js';

/** How an endpoint drains its UART. */
export interface LineReceiveOptions {
  /**
   * Depth of the hardware receive FIFO, which only matters while the CPU is busy. Default 1: the data
   * register of a FIFO-less UART (most small MCUs), the pessimistic case.
   */
  readonly rxFifoBytes?: number;
  /**
   * Whether the endpoint's CPU is stalled at `atNs` (flash erase, long interrupt-free section): the
   * time it can drain its UART again, or null when it is not busy. Omit for the host, whose kernel
   * buffer never overflows.
   */
  readonly isBusy?: (atNs: SimTime) => SimTime | null;
}

export interface LineEndpointOptions extends LineReceiveOptions {
  readonly name: string;
}

export type ReceiveListener = (bytes: Uint8Array, atNs: SimTime) => void;
/** One call per byte lost to a full FIFO. */
export type OverrunListener = (byte: number, atNs: SimTime) => void;

export interface ReceiverOptions extends LineReceiveOptions {
  readonly name: string;
  readonly sourceId: number;
  readonly traceSource: string;
  readonly chunkBytes: number;
  readonly counters: LineEndpointCounters;
}

/**
 * The receive side of an endpoint: a driver that hands received bytes over in chunks of at most
 * `chunkBytes`, at the end of the chunk's last character, or earlier when the line goes idle. While
 * the CPU is busy, characters land in the hardware FIFO; when it is full, further characters are lost
 * (overrun). When the stall ends, what was read before it and what the FIFO holds are handed over.
 */
export class Receiver implements CharSink {
  readonly sourceId: number;
  readonly #held: number[] = [];
  readonly #fifo: number[] = [];
  readonly #fifoBytes: number;
  readonly #listeners: ReceiveListener[] = [];
  readonly #overrunListeners: OverrunListener[] = [];
  #drainTimer: Timer | null = null;

  constructor(
    readonly sim: Sim,
    readonly options: ReceiverOptions,
  ) {
    this.sourceId = options.sourceId;
    this.#fifoBytes = options.rxFifoBytes ?? 1;
    if (!Number.isInteger(this.#fifoBytes) || this.#fifoBytes < 0)
      throw new RangeError(`rxFifoBytes ${options.rxFifoBytes} is not a byte count`);
  }

  onReceive(listener: ReceiveListener): void {
    this.#listeners.push(listener);
  }

  onOverrun(listener: OverrunListener): void {
    this.#overrunListeners.push(listener);
  }

  char(value: number, report: CharReport): void {
    const c = this.options.counters;
    c.bitErrors += report.flippedBits;
    if (report.parityError) c.parityErrors++;
    if (report.framingError) c.framingErrors++;
    if (report.garbled) c.garbled++;
    const busyUntil = this.#busyUntil();
    if (busyUntil !== null) {
      this.#stalled(value, busyUntil);
      return;
    }
    // The stall ended at this very instant and its drain event has not run yet: keep the byte order.
    if (this.#drainTimer !== null) this.#drain();
    this.#held.push(value);
    if (this.#held.length >= this.options.chunkBytes) this.#handOver();
  }

  lost(reason: 'drop' | 'start-bit' | 'absorbed', flippedBits: number): void {
    const c = this.options.counters;
    c.dropped++;
    c.bitErrors += flippedBits;
    if (reason === 'start-bit') c.framingErrors++;
  }

  lineIdle(): void {
    if (this.#held.length === 0) return;
    const busyUntil = this.#busyUntil();
    if (busyUntil !== null) this.#drainAt(busyUntil);
    else if (this.#drainTimer !== null) this.#drain();
    else this.#handOver();
  }

  #busyUntil(): SimTime | null {
    const now = this.sim.now;
    const until = this.options.isBusy?.(now) ?? null;
    return until !== null && until > now ? until : null;
  }

  #stalled(value: number, busyUntil: SimTime): void {
    if (this.#fifo.length < this.#fifoBytes) this.#fifo.push(value);
    else {
      this.options.counters.overrun++;
      this.sim.record(this.options.traceSource, 'overrun', `${this.options.name} ${hexPreview([value])}`);
      for (const l of this.#overrunListeners) l(value, this.sim.now);
    }
    this.#drainAt(busyUntil);
  }

  #drainAt(at: SimTime): void {
    if (this.#drainTimer !== null && this.#drainTimer.at <= at) return; // it re-checks when it fires
    this.#drainTimer?.cancel();
    this.#drainTimer = this.sim.scheduler.at(at, () => {
      this.#drainTimer = null;
      const busyUntil = this.#busyUntil();
      if (busyUntil !== null) this.#drainAt(busyUntil);
      else this.#drain();
    });
  }

  #drain(): void {
    this.#drainTimer?.cancel();
    this.#drainTimer = null;
    if (this.#fifo.length > 0)
      this.sim.record(this.options.traceSource, 'fifo-drain', `${this.options.name} ${this.#fifo.length}B`);
    this.#held.push(...this.#fifo);
    this.#fifo.length = 0;
    this.#handOver();
  }

  #handOver(): void {
    while (this.#held.length > 0) {
      const chunk = Uint8Array.from(this.#held.splice(0, this.options.chunkBytes));
      this.options.counters.bytesReceived += chunk.length;
      this.sim.record(
        this.options.traceSource,
        'rx',
        `${this.options.name} ${chunk.length}B ${hexPreview(chunk)}`,
      );
      for (const l of this.#listeners) l(chunk, this.sim.now);
    }
  }
}
