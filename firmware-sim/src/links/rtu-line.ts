import { modbus } from '@mcubus/protocol';
import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import { FaultPlan, type FaultRule } from './faults.js';
import { LineActivity } from './rtu-activity.js';
import { type RtuLineTiming, RtuMonitor, type RtuViolationCounters } from './rtu-monitor.js';
import { type LineCounters, newLineCounters } from './uart-counters.js';
import { buildEndpoint, checkChunkBytes, type LineEndpoint } from './uart-endpoint.js';
import { describeLineFormat, type LineFormat, lineFormat, validateLineFormat } from './uart-format.js';
import type { LineReceiveOptions } from './uart-receiver.js';
import { Wire } from './uart-wire.js';

export interface RtuLineOptions {
  /** Unique among the simulation's links: it names the line's PRNG streams and trace records. */
  readonly name: string;
  /** Default 8E1 at 19200 baud, Modbus's default. RTU needs 8 data bits. */
  readonly format?: LineFormat;
  /** Applied to each write; `sender` is an endpoint's name. */
  readonly faults?: readonly FaultRule[];
  /** Probability that each bit on the wire is flipped (the same for every receiver). */
  readonly bitErrorRate?: number;
  /** Probability that each character vanishes (for every receiver). */
  readonly byteDropRate?: number;
  /** Largest chunk a receiver's driver hands over at once; default 32. */
  readonly deliveryChunkBytes?: number;
}

export interface RtuLineCounters extends LineCounters, RtuViolationCounters {}

/**
 * A half-duplex multi-drop RS-485 line carrying Modbus RTU: every character one endpoint writes is
 * heard by all the others. Nothing stops two endpoints from driving the line at once (RS-485 has no
 * carrier sense): that is a collision, which garbles what overlaps. The line counts the Modbus timing
 * violations (t3.5 between frames of different endpoints, t1.5 inside a frame) and tells endpoints
 * since when it is idle, so that they can honour the gaps.
 */
export class RtuLine {
  readonly name: string;
  readonly format: LineFormat;
  readonly timing: RtuLineTiming;
  readonly byteTimeNs: number;
  readonly #counters: RtuLineCounters;
  readonly #sim: Sim;
  readonly #wire: Wire;
  readonly #plan: FaultPlan | null;
  readonly #chunkBytes: number;
  readonly #activity = new LineActivity();
  readonly #endpoints = new Map<string, LineEndpoint>();

  constructor(sim: Sim, options: RtuLineOptions) {
    const format = options.format ?? lineFormat(19200, '8E1');
    validateLineFormat(format);
    if (format.dataBits !== 8) throw new RangeError(`Modbus RTU needs 8 data bits, not ${format.dataBits}`);
    this.#sim = sim;
    this.name = options.name;
    this.format = format;
    const t = modbus.rtuTiming(format.baud, { parity: format.parity, stopBits: format.stopBits });
    this.timing = { charTimeNs: t.charTimeUs * 1000, t15Ns: t.t15Us * 1000, t35Ns: t.t35Us * 1000 };
    this.#chunkBytes = checkChunkBytes(options.deliveryChunkBytes);
    const counters: RtuLineCounters = { ...newLineCounters(), collisions: 0, t35Violations: 0, t15Gaps: 0 };
    this.#counters = counters;
    const traceSource = `rtu:${options.name}`;
    this.#wire = new Wire(sim, {
      rngLabel: `rtu:${options.name}:wire`,
      traceSource,
      traceTag: '',
      format,
      bitErrorRate: options.bitErrorRate,
      byteDropRate: options.byteDropRate,
      counters,
    });
    this.byteTimeNs = this.#wire.byteTimeNs;
    const monitor = new RtuMonitor(sim, traceSource, this.timing, counters);
    this.#wire.onSegment((seg) => {
      this.#activity.add(seg.start, seg.end);
      monitor.watch(seg);
    });
    this.#plan =
      options.faults && options.faults.length > 0
        ? new FaultPlan(options.faults, sim.rng(`rtu:${options.name}:faults`))
        : null;
    sim.record(traceSource, 'open', describeLineFormat(format));
  }

  /** Connects a new endpoint (a master or a slave) to the line. */
  attach(name: string, options: LineReceiveOptions = {}): LineEndpoint {
    if (this.#endpoints.has(name)) throw new RangeError(`${name} is already on RTU line ${this.name}`);
    const endpoint = buildEndpoint(this.#sim, {
      options: { ...options, name },
      id: this.#endpoints.size,
      txWire: this.#wire,
      rxWire: this.#wire,
      format: this.format,
      plan: this.#plan,
      rngLabel: `rtu:${this.name}:${name}`,
      traceSource: `rtu:${this.name}`,
      chunkBytes: this.#chunkBytes,
    });
    this.#endpoints.set(name, endpoint);
    this.#sim.record(`rtu:${this.name}`, 'attach', name);
    return endpoint;
  }

  /**
   * Injects garbage at `atNs` (≥ now): the given bytes, or that many random ones, back to back at the
   * line rate, heard by every endpoint; it garbles the characters it overlaps like a collision does.
   */
  noise(atNs: SimTime, bytes: Uint8Array | number): void {
    this.#wire.noise(atNs, bytes);
  }

  /** A snapshot of the line's counters. */
  get counters(): RtuLineCounters {
    return { ...this.#counters };
  }

  /** When the line last went quiet (0 if it never carried anything), or null while it is driven now. */
  idleSince(): SimTime | null {
    return this.#activity.idleSince(this.#sim.now);
  }
}
