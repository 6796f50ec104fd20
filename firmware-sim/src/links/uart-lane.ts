import type { SimTime } from '../kernel/scheduler.js';

/** A run of characters that one transmitter (or a noise burst) puts on the wire back to back. */
export interface SegmentInit {
  /** Id of the transmitter on this wire (its receiver does not hear it), or NOISE_SOURCE. */
  readonly source: number;
  /** Name for traces. */
  readonly sender: string;
  /** Which write of the sender the characters belong to (-1 for noise). */
  readonly writeId: number;
  readonly start: SimTime;
  readonly bytes: Uint8Array;
}

export interface WireSegment extends SegmentInit {
  /** When the last character's stop bit ends. */
  readonly end: SimTime;
}

export interface LiveSegment extends WireSegment {
  /** Index of the next character the receivers have not framed or lost yet. */
  next: number;
}

/**
 * The segments of one transmitter (or of one noise burst), in time order and never overlapping, since
 * a transmitter sends one character at a time. Keeping each source apart makes the wire's per
 * character work proportional to the number of sources, not to the number of writes queued ahead.
 */
export class Lane {
  #segs: LiveSegment[] = [];
  #head = 0;

  constructor(
    readonly charStart: (start: SimTime, i: number) => SimTime,
    /** A noise burst's lane, forgotten once over; a transmitter's lane stays. */
    readonly transient: boolean,
  ) {}

  get empty(): boolean {
    return this.#head === this.#segs.length;
  }

  push(seg: LiveSegment): void {
    const last = this.#segs.at(-1);
    if (last !== undefined && seg.start < last.end)
      throw new RangeError(`segment at ${seg.start} ns overlaps the previous one of ${seg.sender}`);
    this.#segs.push(seg);
  }

  /**
   * Passes the characters starting before `t` to `absorb` (the receivers were busy framing another),
   * forgets segments over by `t`, and returns the first segment with characters left, if any.
   */
  advance(t: SimTime, absorb: (seg: LiveSegment, index: number) => void): LiveSegment | null {
    const segs = this.#segs;
    for (let i = this.#head; i < segs.length; i++) {
      const seg = segs[i]!;
      while (seg.next < seg.bytes.length && this.charStart(seg.start, seg.next) < t) {
        absorb(seg, seg.next);
        seg.next++;
      }
      if (seg.next < seg.bytes.length) break; // later segments start after this one's characters
    }
    while (this.#head < segs.length && segs[this.#head]!.next === segs[this.#head]!.bytes.length) {
      if (segs[this.#head]!.end > t) break; // still on the wire: it can garble what comes next
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > segs.length) {
      this.#segs = segs.slice(this.#head);
      this.#head = 0;
    }
    for (let i = this.#head; i < this.#segs.length; i++) {
      const seg = this.#segs[i]!;
      if (seg.next < seg.bytes.length) return seg;
    }
    return null;
  }

  /** Whether a segment other than `except` is on the wire at some time in [from, to). */
  overlaps(from: SimTime, to: SimTime, except: LiveSegment): boolean {
    for (let i = this.#head; i < this.#segs.length; i++) {
      const seg = this.#segs[i]!;
      if (seg.start >= to) break;
      if (seg !== except && seg.end > from) return true;
    }
    return false;
  }
}
