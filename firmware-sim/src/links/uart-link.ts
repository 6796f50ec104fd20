import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import { FaultPlan, type FaultRule } from './faults.js';
import type { LineCounters } from './uart-counters.js';
import { buildEndpoint, checkChunkBytes, type LineEndpoint } from './uart-endpoint.js';
import { byteTimeNs, describeLineFormat, type LineFormat, validateLineFormat } from './uart-format.js';
import type { LineEndpointOptions } from './uart-receiver.js';
import { Wire } from './uart-wire.js';

export type UartDirection = 'a→b' | 'b→a';

export interface UartLinkOptions {
  /** Unique among the simulation's links: it names the link's PRNG streams and trace records. */
  readonly name: string;
  readonly format: LineFormat;
  readonly a: LineEndpointOptions;
  readonly b: LineEndpointOptions;
  /**
   * Applied to each write. One plan serves both ends, so `nth` counts the matching writes of both
   * ends unless the rule names a `sender`.
   */
  readonly faults?: readonly FaultRule[];
  /** Probability that each bit on the wire (start, data, parity, stop) is flipped. */
  readonly bitErrorRate?: number;
  /** Probability that each character vanishes. */
  readonly byteDropRate?: number;
  /** Largest chunk a receiver's driver hands over at once; default 32. */
  readonly deliveryChunkBytes?: number;
}

/**
 * A full-duplex point-to-point UART: two independent wires (a→b and b→a), each with its own
 * transmitter queue, impairments and noise.
 */
export class UartLink {
  readonly name: string;
  readonly format: LineFormat;
  readonly byteTimeNs: number;
  readonly a: LineEndpoint;
  readonly b: LineEndpoint;
  readonly #wires: Readonly<Record<UartDirection, Wire>>;

  constructor(sim: Sim, options: UartLinkOptions) {
    validateLineFormat(options.format);
    if (options.a.name === options.b.name)
      throw new RangeError(`the ends of UART ${options.name} are both named ${options.a.name}`);
    this.name = options.name;
    this.format = options.format;
    this.byteTimeNs = byteTimeNs(options.format);
    const chunkBytes = checkChunkBytes(options.deliveryChunkBytes);
    const traceSource = `uart:${options.name}`;
    const wire = (direction: UartDirection) =>
      new Wire(sim, {
        rngLabel: `uart:${options.name}:${direction}`,
        traceSource,
        traceTag: `${direction} `,
        format: options.format,
        bitErrorRate: options.bitErrorRate,
        byteDropRate: options.byteDropRate,
      });
    this.#wires = { 'a→b': wire('a→b'), 'b→a': wire('b→a') };
    const plan =
      options.faults && options.faults.length > 0
        ? new FaultPlan(options.faults, sim.rng(`uart:${options.name}:faults`))
        : null;
    const end = (opts: LineEndpointOptions, id: number, tx: UartDirection, rx: UartDirection) =>
      buildEndpoint(sim, {
        options: opts,
        id,
        txWire: this.#wires[tx],
        rxWire: this.#wires[rx],
        format: options.format,
        plan,
        rngLabel: `uart:${options.name}:${opts.name}`,
        traceSource,
        chunkBytes,
      });
    this.a = end(options.a, 0, 'a→b', 'b→a');
    this.b = end(options.b, 1, 'b→a', 'a→b');
    sim.record(
      traceSource,
      'open',
      `${describeLineFormat(options.format)} ${options.a.name}↔${options.b.name}`,
    );
  }

  /**
   * Injects garbage on one wire at `atNs` (≥ now): the given bytes, or that many random ones, back to
   * back at the line rate. On an idle line the receiver gets them; over traffic, the receiver stays
   * locked on whichever character started first, characters starting during it are lost and the
   * characters overlapped are received corrupted (see docs/simulator-lines.md).
   */
  noise(direction: UartDirection, atNs: SimTime, bytes: Uint8Array | number): void {
    this.#wire(direction).noise(atNs, bytes);
  }

  /** A snapshot of one wire's counters. */
  counters(direction: UartDirection): LineCounters {
    return { ...this.#wire(direction).counters };
  }

  #wire(direction: UartDirection): Wire {
    const w = this.#wires[direction];
    if (w === undefined) throw new RangeError(`direction ${direction} is not a→b or b→a`);
    return w;
  }
}
