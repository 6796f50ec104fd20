import { CauseCounters } from '../counters.js';
import { repairSingleBit } from '../frame/bit-correction.js';
import { err, ok, type Result } from '../result.js';
import { type Adu, decodeAdu, hasValidCrc } from './adu.js';
import { copyBytes } from './bytes.js';
import { type ModbusError, type ModbusErrorCode, modbusError } from './errors.js';
import { type Direction, expectedAduLength } from './expected-length.js';
import type { RtuTiming } from './timing.js';

/**
 * 'master' receives responses. 'slave' receives requests, and also the other slaves' responses,
 * which every node on a multi-drop line hears: the slave framer accepts both so that it stays in
 * step with the traffic. A slave acts only on ADUs addressed to it or to 0, so it never mistakes
 * another slave's response for a request to itself.
 */
export type FramerRole = 'master' | 'slave';

export interface RtuFramerOptions {
  readonly role: FramerRole;
  readonly timing: RtuTiming;
  /**
   * Silence that ends an incomplete ADU; default timing.t35Us. Behind a USB-serial adapter, add
   * the adapter's latency timer: it delivers bytes in bursts, so arrival gaps are not line gaps.
   */
  readonly silenceUs?: number;
}

/** Rejection causes, plus the number of bytes that did not end up in an ADU. */
export type FramerCounter = ModbusErrorCode | 'skipped_bytes' | 'repaired_bit';

type Step =
  | { readonly kind: 'frame'; readonly adu: Adu; readonly length: number }
  | { readonly kind: 'wait' }
  | { readonly kind: 'skip'; readonly error: ModbusError };

const DIRECTIONS: Readonly<Record<FramerRole, readonly Direction[]>> = {
  master: ['response'],
  slave: ['request', 'response'],
};

/**
 * Cuts a byte stream from an RTU line into ADUs, sans-IO. An ADU ends when its expected length
 * (from function code and count byte) has arrived and its CRC is good; silence is only the second
 * rule, because arrival times seen through a USB-serial adapter are not the line's. A bad candidate
 * costs one byte: the framer drops the first byte and rescans, so it is back in step within a frame
 * after any garbage.
 */
export class RtuFramer {
  readonly counters = new CauseCounters<FramerCounter>();
  readonly #directions: readonly Direction[];
  readonly #charTimeUs: number;
  readonly #silenceUs: number;
  #buffer: Uint8Array = new Uint8Array(0);
  #lastByteUs: number | undefined;
  /** Set while skipping garbage, so that one run of garbage yields one error rather than one per byte. */
  #resyncing = false;

  constructor(options: RtuFramerOptions) {
    this.#directions = DIRECTIONS[options.role];
    this.#charTimeUs = options.timing.charTimeUs;
    this.#silenceUs = options.silenceUs ?? options.timing.t35Us;
  }

  /** Bytes held for an ADU not yet complete. */
  get pending(): number {
    return this.#buffer.length;
  }

  /**
   * Feeds bytes that arrived at `nowUs` (all of them; the last byte is taken to have just arrived)
   * and returns what they completed, in order: each ADU as ok, and as errors the start of each run
   * of garbage and each ADU cut short by silence. Errors are informational: the framer has already
   * resynchronised. Pushing no bytes applies the silence rule alone.
   */
  push(bytes: Uint8Array, nowUs: number): Result<Adu, ModbusError>[] {
    const out: Result<Adu, ModbusError>[] = [];
    if (this.#lastByteUs !== undefined) {
      // The silence ended when the first new byte started arriving, one character time per byte
      // before the last.
      const silenceUs = nowUs - bytes.length * this.#charTimeUs - this.#lastByteUs;
      if (silenceUs >= this.#silenceUs) this.#silence(out);
    }
    if (bytes.length === 0) return out;
    this.#lastByteUs = nowUs;
    this.#buffer = concat(this.#buffer, bytes);
    this.#scan(out, false);
    return out;
  }

  /** Drops any partial ADU, e.g. before the master sends a new request. */
  reset(): void {
    // The master has moved on, so what is buffered is stale: dropped unscanned.
    if (this.#buffer.length > 0) {
      this.counters.add('incomplete');
      this.counters.add('skipped_bytes', this.#buffer.length);
      this.#buffer = new Uint8Array(0);
    }
    this.#lastByteUs = undefined;
    this.#resyncing = false;
  }

  /**
   * The line fell silent, so no more bytes belong to what is buffered: an ADU still waiting for
   * bytes is incomplete. Rather than dropping the whole buffer, rescan it with waiting ruled out, so
   * a complete ADU behind a garbage byte that looked like a long header is still delivered.
   */
  #silence(out: Result<Adu, ModbusError>[]): void {
    this.#resyncing = false;
    if (this.#buffer.length > 0) this.#scan(out, true);
    this.#resyncing = false;
  }

  /** Delivers every ADU the buffer holds and skips garbage; `silent` means no more bytes will come. */
  #scan(out: Result<Adu, ModbusError>[], silent: boolean): void {
    const buffer = this.#buffer;
    let pos = 0;
    while (pos < buffer.length) {
      let step = this.#stepAt(buffer.subarray(pos));
      if (step.kind === 'wait') {
        if (!silent) break;
        step = { kind: 'skip', error: incomplete(buffer.length - pos) };
      }
      if (step.kind === 'frame') {
        out.push(ok(step.adu));
        pos += step.length;
        this.#resyncing = false;
        continue;
      }
      this.counters.add('skipped_bytes');
      if (!this.#resyncing) {
        this.#resyncing = true;
        this.counters.add(step.error.code);
        out.push(err(step.error));
      }
      pos += 1;
    }
    this.#buffer = copyBytes(buffer, pos);
  }

  /** What to do with the bytes at the start of `view`: an ADU, wait for more, or skip one byte. */
  #stepAt(view: Uint8Array): Step {
    let waiting = false;
    let crcFailed = false;
    let firstError: ModbusError | undefined;
    for (const direction of this.#directions) {
      const expected = expectedAduLength(view, direction);
      if (!expected.ok) {
        firstError ??= expected.error;
        continue;
      }
      const length = expected.value;
      if (length === 'need_more' || view.length < length) {
        waiting = true;
        continue;
      }
      if (!hasValidCrc(view, 0, length)) {
        const repaired = repairTunnelAdu(view.subarray(0, length));
        if (repaired) {
          const adu = decodeAdu(repaired);
          if (adu.ok) {
            this.counters.add('repaired_bit');
            return { kind: 'frame', adu: adu.value, length };
          }
        }
        crcFailed = true;
        continue;
      }
      const adu = decodeAdu(view.subarray(0, length));
      if (adu.ok) return { kind: 'frame', adu: adu.value, length };
      firstError ??= adu.error;
    }
    // A slave waits while either reading of the bytes may still complete.
    if (waiting) return { kind: 'wait' };
    if (crcFailed) return { kind: 'skip', error: modbusError('bad_crc', 'CRC mismatch; resynchronising') };
    return { kind: 'skip', error: firstError ?? modbusError('unknown_function', 'no ADU starts here') };
  }
}

/**
 * An FC 0x41 ADU that fails its CRC-16 because one bit of the mcubus frame inside flipped: the frame's
 * CRC-32C locates the bit (spec §6), and the ADU's CRC-16 must then check too. Both codes agreeing
 * makes a wrong repair as unlikely as an undetected error; CRC-16 alone (65 536 syndromes for ~2 000
 * bit positions) would "repair" one garbled ADU in thirty, so nothing else is repaired.
 */
function repairTunnelAdu(adu: Uint8Array): Uint8Array | null {
  const n = adu.length;
  if (n < 5 || (adu[1]! & 0x7f) !== 0x41 || adu[2] !== n - 5) return null;
  const copy = adu.slice();
  if (!repairSingleBit(copy.subarray(3, n - 2))) return null;
  return hasValidCrc(copy, 0, n) ? copy : null;
}

function incomplete(pending: number): ModbusError {
  return modbusError('incomplete', `line silent with ${pending} bytes of an unfinished ADU`);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return copyBytes(b);
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
