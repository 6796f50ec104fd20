import { cobsDecode, cobsMaxEncodedLength } from '@mcubus/protocol';

/** One received piece of a UART byte stream, for a capture record. */
export interface UartPiece {
  /** The piece's bytes and its 0x00 delimiter; when oversize, only the first bytes (a prefix). */
  readonly bytes: Uint8Array;
  /** Bytes the piece really had on the wire (delimiter included). */
  readonly originalLength: number;
  /**
   * Host clock (µs) when its last byte (the delimiter) had arrived: captures stamp received packets
   * at their end, as libpcap does, so that a file's packets are in time order.
   */
  readonly endUs: number;
  /** Why it is not a frame: cobs_zero, cobs_overrun, oversize; absent for a decodable piece. */
  readonly error?: string;
}

/**
 * Cuts received UART bytes into the pieces of docs/protocol.md §6 (each up to and including a 0x00),
 * for the capture: the raw wire bytes of each frame, and the undecodable ones marked with the same
 * code the frame decoder counts them under. Sans-IO; it runs beside the transport's decoder only
 * while a capture listens, so the decoder itself stays untouched. Frame checks (CRC, version) are left
 * to whoever reads the capture: Wireshark shows them.
 */
export class UartCaptureSplitter {
  readonly #maxEncoded: number;
  #buf: Uint8Array;
  #len = 0;
  #originalLength = 0;
  /** Skipping to the next delimiter: what came before it belongs to a piece we saw only part of. */
  #skipping = false;

  constructor(
    maxFrameSize: number,
    /** One character's time on the line, µs. */
    readonly charUs: number,
  ) {
    this.#maxEncoded = cobsMaxEncodedLength(maxFrameSize);
    this.#buf = new Uint8Array(this.#maxEncoded + 1);
  }

  /** `endUs`: host clock when the chunk's last byte had arrived (the transports' `rxUs`). */
  push(chunk: Uint8Array, endUs: number): UartPiece[] {
    const out: UartPiece[] = [];
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const b = chunk[i]!;
      if (this.#skipping) {
        this.#skipping = b !== 0;
        continue;
      }
      this.#originalLength++;
      if (b !== 0) {
        // Beyond the longest valid piece only the count grows: the decoder drops such a piece anyway.
        if (this.#len < this.#maxEncoded) this.#buf[this.#len++] = b;
        continue;
      }
      // Byte i finished arriving (n − 1 − i) character times before the chunk's last one.
      const piece = this.#finish(endUs - (n - 1 - i) * this.charUs);
      if (piece) out.push(piece);
    }
    return out;
  }

  /** Forgets a partial piece (the port closed: the next byte starts a new stream). */
  reset(): void {
    this.#len = 0;
    this.#originalLength = 0;
    this.#skipping = false;
  }

  /**
   * Joins a stream already under way (a capture starting): bytes up to the next delimiter are the
   * tail of a piece whose start went by, and are skipped rather than shown as garbage.
   */
  resync(): void {
    this.reset();
    this.#skipping = true;
  }

  #finish(endUs: number): UartPiece | undefined {
    const len = this.#len;
    const originalLength = this.#originalLength;
    this.#len = 0;
    this.#originalLength = 0;
    // A lone delimiter is idle-line framing (§6: empty pieces are ignored), not a piece.
    if (originalLength === 1) return undefined;
    if (originalLength - 1 > this.#maxEncoded) {
      // Only a prefix was kept: the capture shows it with the piece's real length on the wire.
      return { bytes: this.#buf.slice(0, len), originalLength, endUs, error: 'oversize' };
    }
    const bytes = new Uint8Array(len + 1); // the piece and its 0x00 delimiter
    bytes.set(this.#buf.subarray(0, len), 0);
    const base = { bytes, originalLength, endUs };
    const decoded = cobsDecode(bytes.subarray(0, len));
    return decoded.ok ? base : { ...base, error: decoded.error.code };
  }
}
