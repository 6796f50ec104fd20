import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import type { ByteEndpoint } from './endpoints.js';
import type { FaultPlan } from './faults.js';
import { type LineEndpointCounters, newEndpointCounters } from './uart-counters.js';
import type { LineFormat } from './uart-format.js';
import {
  type LineEndpointOptions,
  type OverrunListener,
  type ReceiveListener,
  Receiver,
} from './uart-receiver.js';
import { Transmitter } from './uart-transmitter.js';
import type { Wire } from './uart-wire.js';

/** An end of a UART link or a drop on an RS-485 line: a ByteEndpoint with counters and overrun events. */
export class LineEndpoint implements ByteEndpoint {
  readonly name: string;
  readonly byteTimeNs: number;
  readonly #counters: LineEndpointCounters;
  readonly #tx: Transmitter;
  readonly #rx: Receiver;

  /** Built by UartLink and RtuLine. */
  constructor(
    counters: LineEndpointCounters,
    readonly format: LineFormat,
    tx: Transmitter,
    rx: Receiver,
  ) {
    this.name = tx.options.name;
    this.byteTimeNs = tx.options.wire.byteTimeNs;
    this.#counters = counters;
    this.#tx = tx;
    this.#rx = rx;
  }

  /** A snapshot of the endpoint's counters. */
  get counters(): LineEndpointCounters {
    return { ...this.#counters };
  }

  get txIdleAt(): SimTime {
    return this.#tx.idleAt;
  }

  write(bytes: Uint8Array): void {
    this.#tx.write(bytes);
  }

  onReceive(listener: ReceiveListener): void {
    this.#rx.onReceive(listener);
  }

  /** Called once per byte lost because the receive FIFO was full while the CPU was busy. */
  onOverrun(listener: OverrunListener): void {
    this.#rx.onOverrun(listener);
  }
}

export interface EndpointWiring {
  readonly options: LineEndpointOptions;
  /** The endpoint's id on both wires. */
  readonly id: number;
  readonly txWire: Wire;
  readonly rxWire: Wire;
  readonly format: LineFormat;
  readonly plan: FaultPlan | null;
  /** Prefix of the endpoint's PRNG streams. */
  readonly rngLabel: string;
  readonly traceSource: string;
  readonly chunkBytes: number;
}

export function buildEndpoint(sim: Sim, w: EndpointWiring): LineEndpoint {
  const counters = newEndpointCounters();
  const { name, rxFifoBytes, isBusy } = w.options;
  const tx = new Transmitter(sim, {
    name,
    sourceId: w.id,
    wire: w.txWire,
    format: w.format,
    plan: w.plan,
    stallRng: sim.rng(`${w.rngLabel}:stall`),
    traceSource: w.traceSource,
    counters,
  });
  const rx = new Receiver(sim, {
    name,
    sourceId: w.id,
    traceSource: w.traceSource,
    chunkBytes: w.chunkBytes,
    counters,
    rxFifoBytes,
    isBusy,
  });
  w.rxWire.addSink(rx);
  return new LineEndpoint(counters, w.format, tx, rx);
}

/** Validates the options every line shares. */
export function checkChunkBytes(n: number | undefined): number {
  const chunk = n ?? 32;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`deliveryChunkBytes ${n} is not ≥ 1`);
  return chunk;
}
