import { CauseCounters } from '../counters.js';
import { repairSingleBit } from '../frame/bit-correction.js';
import { type CodedError, err, ok, type Result } from '../result.js';
import { type CobsErrorCode, cobsDecode, cobsMaxEncodedLength } from './cobs.js';

export type CobsStreamErrorCode = CobsErrorCode | 'oversize';
export type CobsStreamResult = Result<Uint8Array, CodedError<CobsStreamErrorCode>>;

/**
 * Splits a byte stream at 0x00 delimiters and COBS-decodes each piece. Accepts any chunking. Garbage
 * can only spoil the frame it lands in: the next delimiter resynchronises. Empty pieces (repeated
 * delimiters, which senders use to flush a line) are skipped without counting.
 *
 * A decoded frame whose CRC fails because of one flipped bit is repaired here (`repaired_bit`, spec §6);
 * anything else is passed on unchanged for the frame decoder to reject with its cause.
 */
export class CobsStreamDecoder {
  readonly counters = new CauseCounters<CobsStreamErrorCode | 'frames' | 'repaired_bit'>();
  readonly #maxEncoded: number;
  #buf: Uint8Array;
  #len = 0;
  /** After an oversize piece, bytes are dropped until the next delimiter. */
  #discarding = false;

  constructor(
    readonly maxFrameSize: number,
    /** Off only to measure what the repair saves. */
    readonly repairBits = true,
  ) {
    this.#maxEncoded = cobsMaxEncodedLength(maxFrameSize);
    this.#buf = new Uint8Array(this.#maxEncoded);
  }

  /** Bytes held for an unfinished frame (0 when idle). */
  get pending(): number {
    return this.#len;
  }

  push(chunk: Uint8Array): CobsStreamResult[] {
    const out: CobsStreamResult[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 0) continue;
      this.#append(chunk, start, i, out);
      this.#finishPiece(out);
      start = i + 1;
    }
    this.#append(chunk, start, chunk.length, out);
    return out;
  }

  #append(chunk: Uint8Array, from: number, to: number, out: CobsStreamResult[]): void {
    if (from >= to || this.#discarding) return;
    const n = to - from;
    if (this.#len + n > this.#maxEncoded) {
      this.#discarding = true;
      this.#len = 0;
      this.counters.add('oversize');
      out.push(
        err({
          code: 'oversize',
          message: `frame exceeds ${this.maxFrameSize} bytes; dropped up to the next delimiter`,
        }),
      );
      return;
    }
    this.#buf.set(chunk.subarray(from, to), this.#len);
    this.#len += n;
  }

  #finishPiece(out: CobsStreamResult[]): void {
    if (this.#discarding) {
      this.#discarding = false;
      return;
    }
    if (this.#len === 0) return;
    const decoded = cobsDecode(this.#buf.subarray(0, this.#len));
    this.#len = 0;
    if (decoded.ok) {
      this.counters.add('frames');
      if (this.repairBits && repairSingleBit(decoded.value)) this.counters.add('repaired_bit');
      out.push(ok(decoded.value)); // a fresh array: it outlives this buffer
    } else {
      this.counters.add(decoded.error.code);
      out.push(decoded);
    }
  }
}
