import type { Prng } from '../kernel/prng.js';
import type { SimTime, Timer } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import { applyWireFlips, type CharFate, dataMask } from './uart-char-errors.js';
import { type LineCounters, newLineCounters } from './uart-counters.js';
import { bitsPerChar, byteTimeNs, type LineFormat } from './uart-format.js';
import { hexPreview } from './uart-hex.js';
import { Lane, type LiveSegment, type SegmentInit, type WireSegment } from './uart-lane.js';
import { RareEvents } from './uart-rare-events.js';

export type { SegmentInit, WireSegment } from './uart-lane.js';

/** Source id of noise bursts: heard by every receiver. */
export const NOISE_SOURCE = -1;

/** What receivers are told about a character they get. */
export interface CharReport {
  readonly flippedBits: number;
  readonly parityError: boolean;
  readonly framingError: boolean;
  readonly garbled: boolean;
}

/** A receiver on a wire. */
export interface CharSink {
  /** The sink's own transmitter id on this wire: a UART does not hear itself. */
  readonly sourceId: number;
  char(value: number, report: CharReport): void;
  lost(reason: 'drop' | 'start-bit' | 'absorbed', flippedBits: number): void;
  /** No character for this sink follows back to back: a driver would hand over what it has. */
  lineIdle(): void;
}

export interface WireOptions {
  /** Prefix of the wire's PRNG streams; unique per wire so that wires draw independently. */
  readonly rngLabel: string;
  readonly traceSource: string;
  /** Prefix of trace details, e.g. 'a→b ' on a UART direction. */
  readonly traceTag: string;
  readonly format: LineFormat;
  readonly bitErrorRate?: number;
  readonly byteDropRate?: number;
  /** Counters object to fill (a line can pass a wider one); default a new one. */
  readonly counters?: LineCounters;
}

interface Candidate {
  readonly seg: LiveSegment;
  readonly index: number;
  readonly start: SimTime;
  readonly end: SimTime;
  /** Drawn once, when first needed (see #fateOf). */
  fate?: CharFate;
}

/**
 * One physical wire as the receivers' UARTs see it: the characters that transmitters and noise put on
 * it, framed in time order. Receivers lock onto whichever character starts first; a character that
 * starts while another is being framed is lost ("absorbed") and garbles the framed character(s) it
 * overlaps. That one rule models noise bursts over traffic and RS-485 collisions alike.
 *
 * One event per character, at its stop bit's end, decides its fate (lazily, so that noise or a
 * colliding write added while it is on the wire still counts).
 */
export class Wire {
  readonly counters: LineCounters;
  readonly byteTimeNs: number;
  readonly #bitsPerChar: number;
  readonly #mask: number;
  readonly #bitErrors: RareEvents;
  readonly #drops: RareEvents;
  readonly #garble: Prng;
  readonly #noise: Prng;
  readonly #sinks: CharSink[] = [];
  readonly #segmentListeners: ((s: WireSegment) => void)[] = [];
  /** One lane per transmitter, then one per noise burst still on the wire. */
  #lanes: Lane[] = [];
  readonly #laneBySource = new Map<number, Lane>();
  #cand: Candidate | null = null;
  #timer: Timer | null = null;
  /** End of the last character the receivers framed. */
  #framedUntil: SimTime = Number.NEGATIVE_INFINITY;

  constructor(
    readonly sim: Sim,
    readonly options: WireOptions,
  ) {
    this.counters = options.counters ?? newLineCounters();
    this.byteTimeNs = byteTimeNs(options.format);
    this.#bitsPerChar = bitsPerChar(options.format);
    this.#mask = dataMask(options.format);
    this.#bitErrors = new RareEvents(sim.rng(`${options.rngLabel}:bits`), options.bitErrorRate ?? 0);
    this.#drops = new RareEvents(sim.rng(`${options.rngLabel}:drops`), options.byteDropRate ?? 0);
    this.#garble = sim.rng(`${options.rngLabel}:garble`);
    this.#noise = sim.rng(`${options.rngLabel}:noise`);
  }

  addSink(sink: CharSink): void {
    this.#sinks.push(sink);
  }

  /** Called with every segment when it is put on the wire (before it starts). */
  onSegment(listener: (s: WireSegment) => void): void {
    this.#segmentListeners.push(listener);
  }

  /**
   * Start of character `i` of a run starting at `start`. Rounded to the ns from the run's start, so
   * times are integers (when `start` is) and do not drift over long runs.
   */
  charStart(start: SimTime, i: number): SimTime {
    return start + Math.round(i * this.byteTimeNs);
  }

  /** Puts a run of characters on the wire; returns when its last stop bit ends. */
  transmit(init: SegmentInit): SimTime {
    if (!(init.start >= this.sim.now))
      throw new RangeError(`cannot transmit at ${init.start} ns: now is ${this.sim.now} ns`);
    const seg: LiveSegment = { ...init, end: this.charStart(init.start, init.bytes.length), next: 0 };
    if (seg.bytes.length === 0) return seg.end;
    let lane = this.#laneBySource.get(init.source);
    if (lane === undefined) {
      // Noise bursts may overlap one another: each gets a lane of its own, dropped when over.
      const transient = init.source === NOISE_SOURCE;
      lane = new Lane((start, i) => this.charStart(start, i), transient);
      this.#lanes.push(lane);
      if (!transient) this.#laneBySource.set(init.source, lane);
    }
    lane.push(seg);
    for (const l of this.#segmentListeners) l(seg);
    this.#reschedule();
    return seg.end;
  }

  /** Injects garbage characters starting at `atNs` (given bytes, or that many random ones). */
  noise(atNs: SimTime, bytes: Uint8Array | number): void {
    if (!(atNs >= this.sim.now))
      throw new RangeError(`noise at ${atNs} ns is in the past (${this.sim.now} ns)`);
    let data: Uint8Array;
    if (typeof bytes === 'number') {
      if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`noise length ${bytes} is not a count`);
      data = new Uint8Array(bytes);
      for (let i = 0; i < bytes; i++) data[i] = this.#noise.int(256);
    } else data = bytes.slice();
    this.counters.noiseBytes += data.length;
    this.sim.record(this.options.traceSource, 'noise', `${this.options.traceTag}${data.length}B @${atNs}`);
    this.transmit({ source: NOISE_SOURCE, sender: 'noise', writeId: -1, start: atNs, bytes: data });
  }

  #reschedule(): void {
    const next = this.#pickNext();
    if (next === this.#cand) return;
    this.#timer?.cancel();
    this.#cand = next;
    this.#timer = next === null ? null : this.sim.scheduler.at(next.end, this.#step);
  }

  /**
   * The earliest-starting character the receivers can still frame. Characters that started before the
   * end of the last framed one are absorbed on the way. On a tie the current candidate stays (its fate
   * may already be drawn and receivers may count on it), then the lane that transmitted first wins.
   */
  #pickNext(): Candidate | null {
    let best: LiveSegment | null = null;
    let bestStart = Number.POSITIVE_INFINITY;
    let emptied = false;
    for (const lane of this.#lanes) {
      const seg = lane.advance(this.#framedUntil, this.#absorb);
      if (seg === null) {
        emptied ||= lane.empty;
        continue;
      }
      const s = this.charStart(seg.start, seg.next);
      if (s < bestStart) {
        best = seg;
        bestStart = s;
      }
    }
    if (emptied) this.#lanes = this.#lanes.filter((l) => !(l.empty && l.transient));
    const cand = this.#cand;
    if (cand !== null && cand.seg.next === cand.index && cand.start <= bestStart) return cand;
    if (best === null) return null;
    return { seg: best, index: best.next, start: bestStart, end: this.charStart(best.start, best.next + 1) };
  }

  readonly #step = (): void => {
    const c = this.#cand!;
    this.#cand = null;
    this.#timer = null;
    c.seg.next = c.index + 1;
    this.#framedUntil = c.end;
    this.counters.framed++;
    const fate = this.#fateOf(c);
    this.counters.bitErrors += fate.flippedBits;
    const raw = c.seg.bytes[c.index]! & this.#mask;
    if (fate.lost !== null) this.#lose(c, fate);
    else this.#deliver(c, fate, raw);
    this.#reschedule();
    const next = this.#cand as Candidate | null;
    // A receiver keeps assembling its chunk only while a character it will get follows back to back.
    const flowing = next !== null && next.start <= this.sim.now && this.#fateOf(next).lost === null;
    for (const sink of this.#sinks) if (!flowing || next.seg.source === sink.sourceId) sink.lineIdle();
  };

  #fateOf(c: Candidate): CharFate {
    if (c.fate !== undefined) return c.fate;
    const raw = c.seg.bytes[c.index]! & this.#mask;
    const fate: CharFate =
      this.#drops.take(1).length > 0
        ? { lost: 'drop', value: raw, flippedBits: 0, parityError: false, framingError: false }
        : applyWireFlips(this.options.format, raw, this.#bitErrors.take(this.#bitsPerChar));
    c.fate = fate;
    return fate;
  }

  #deliver(c: Candidate, fate: CharFate, raw: number): void {
    const garbled = this.#overlapped(c);
    let value = fate.value;
    if (garbled) {
      // Some other non-zero pattern: the receiver sampled parts of two characters.
      value ^= 1 + this.#garble.int(this.#mask);
      this.counters.garbled++;
      this.#record('garbled', `${c.seg.sender} #${c.index} ${hexPreview([raw])}→${hexPreview([value])}`);
    } else if (fate.flippedBits > 0) {
      const flags = `${fate.parityError ? ' parity' : ''}${fate.framingError ? ' framing' : ''}`;
      this.#record(
        'bit-error',
        `${c.seg.sender} #${c.index} ${hexPreview([raw])}→${hexPreview([value])} ${fate.flippedBits}b${flags}`,
      );
    }
    const report: CharReport = {
      flippedBits: fate.flippedBits,
      parityError: fate.parityError,
      framingError: fate.framingError,
      garbled,
    };
    for (const sink of this.#sinks) if (sink.sourceId !== c.seg.source) sink.char(value, report);
  }

  #lose(c: Candidate, fate: CharFate): void {
    const reason = fate.lost!;
    if (reason === 'drop') this.counters.dropped++;
    else this.counters.startBitLosses++;
    this.#record(reason === 'drop' ? 'byte-drop' : 'start-bit-loss', `${c.seg.sender} #${c.index}`);
    for (const sink of this.#sinks) if (sink.sourceId !== c.seg.source) sink.lost(reason, fate.flippedBits);
  }

  readonly #absorb = (seg: LiveSegment, index: number): void => {
    this.counters.absorbed++;
    this.#record('absorbed', `${seg.sender} #${index}`);
    // Swallowed noise is no loss to a receiver; a swallowed character of a transmitter is.
    if (seg.source === NOISE_SOURCE) return;
    for (const sink of this.#sinks) if (sink.sourceId !== seg.source) sink.lost('absorbed', 0);
  };

  /** Whether any other run (noise, another transmitter) is on the wire during character `c`. */
  #overlapped(c: Candidate): boolean {
    for (const lane of this.#lanes) if (lane.overlaps(c.start, c.end, c.seg)) return true;
    return false;
  }

  #record(event: string, detail: string): void {
    this.sim.record(this.options.traceSource, event, `${this.options.traceTag}${detail}`);
  }
}
