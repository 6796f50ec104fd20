import type { Sim } from '../kernel/sim.js';
import { NOISE_SOURCE, type WireSegment } from './uart-wire.js';

/** RS-485 timing in ns, from `rtuTiming` of the protocol package. */
export interface RtuLineTiming {
  readonly charTimeNs: number;
  /** Longest silence allowed between characters of one frame. */
  readonly t15Ns: number;
  /** Shortest silence between two frames. */
  readonly t35Ns: number;
}

export interface RtuViolationCounters {
  /** Transmissions that started while another endpoint's transmission was on the wire. */
  collisions: number;
  /** Transmissions that started less than t3.5 after another endpoint's transmission ended. */
  t35Violations: number;
  /** Silences longer than t1.5 inside one endpoint's frame (see RtuMonitor). */
  t15Gaps: number;
}

/**
 * Watches the transmissions on an RS-485 line when they start (in wire time order, whatever order
 * they were written in) and counts Modbus timing violations. Noise is not a transmission: it does not
 * count here (the wire still garbles what it overlaps).
 *
 * A t1.5 gap is a silence longer than t1.5 between two runs of characters of the same endpoint that
 * either belong to the same write (a write is meant to be one frame, so even a gap ≥ t3.5 that splits
 * it counts) or are less than t3.5 apart (receivers take them for one frame).
 */
export class RtuMonitor {
  /** Transmissions started and still relevant: those on the wire, and the last one to end. */
  #seen: WireSegment[] = [];

  constructor(
    readonly sim: Sim,
    readonly traceSource: string,
    readonly timing: RtuLineTiming,
    readonly counters: RtuViolationCounters,
  ) {}

  watch(seg: WireSegment): void {
    if (seg.source === NOISE_SOURCE) return;
    this.sim.scheduler.at(seg.start, () => this.#started(seg));
  }

  #started(seg: WireSegment): void {
    const s = seg.start;
    const others = this.#seen.filter((o) => o.end > s && o.source !== seg.source);
    if (others.length > 0) {
      this.counters.collisions++;
      const names = [...new Set(others.map((o) => o.sender))].join(',');
      this.sim.record(this.traceSource, 'collision', `${seg.sender} started while ${names} on the wire`);
    } else {
      let prev: WireSegment | null = null;
      for (const o of this.#seen) if (prev === null || o.end > prev.end) prev = o;
      if (prev !== null) this.#checkGap(prev, seg);
    }
    this.#seen.push(seg);
    const lastEnd = Math.max(...this.#seen.map((o) => o.end));
    this.#seen = this.#seen.filter((o) => o.end > s || o.end === lastEnd);
  }

  #checkGap(prev: WireSegment, seg: WireSegment): void {
    const gap = seg.start - prev.end;
    const { t15Ns, t35Ns } = this.timing;
    if (prev.source !== seg.source) {
      if (gap < t35Ns) {
        this.counters.t35Violations++;
        this.sim.record(this.traceSource, 't3.5-violation', `${seg.sender} ${gap}ns after ${prev.sender}`);
      }
    } else if (gap > t15Ns && (gap < t35Ns || prev.writeId === seg.writeId)) {
      this.counters.t15Gaps++;
      this.sim.record(this.traceSource, 't1.5-gap', `${seg.sender} silent ${gap}ns inside a frame`);
    }
  }
}
