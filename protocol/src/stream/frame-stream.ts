import { CauseCounters } from '../counters.js';
import { MAX_FRAME_SIZE } from '../frame/constants.js';
import { decodeFrame, type Frame, type FrameDecodeError } from '../frame/typed.js';
import type { CodedError } from '../result.js';
import { cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js';
import { CobsStreamDecoder, type CobsStreamErrorCode } from './cobs-stream.js';

/** Wire form of a frame on a byte stream (UART): COBS(frame) followed by the 0x00 delimiter. */
export function encodeStreamFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(frame.length) + 1);
  const end = cobsEncodeInto(frame, out, 0);
  out[end] = 0;
  return out.subarray(0, end + 1);
}

export type StreamEvent =
  | { readonly kind: 'frame'; readonly frame: Frame; readonly bytes: Uint8Array }
  | {
      readonly kind: 'error';
      readonly error: CodedError<CobsStreamErrorCode> | FrameDecodeError;
      /** The undecodable frame bytes when there are any (for captures and traces). */
      readonly bytes?: Uint8Array;
    };

/**
 * The receive side of a UART link: byte chunks in, decoded frames and typed errors out. Every bad frame
 * is counted by cause (cobs_overrun, oversize, bad_crc, truncated, bad_cbor, schema, …).
 */
export class FrameStreamDecoder {
  readonly counters = new CauseCounters();
  readonly #cobs: CobsStreamDecoder;

  constructor(readonly maxFrameSize = MAX_FRAME_SIZE) {
    this.#cobs = new CobsStreamDecoder(maxFrameSize);
  }

  /** Bytes held for an unfinished frame (0 when idle). */
  get pending(): number {
    return this.#cobs.pending;
  }

  push(chunk: Uint8Array): StreamEvent[] {
    const events: StreamEvent[] = [];
    for (const piece of this.#cobs.push(chunk)) {
      if (!piece.ok) {
        this.counters.add(piece.error.code);
        events.push({ kind: 'error', error: piece.error });
        continue;
      }
      const decoded = decodeFrame(piece.value, this.maxFrameSize);
      if (decoded.ok) {
        this.counters.add('frames_ok');
        events.push({ kind: 'frame', frame: decoded.value, bytes: piece.value });
      } else {
        this.counters.add(decoded.error.code);
        events.push({ kind: 'error', error: decoded.error, bytes: piece.value });
      }
    }
    return events;
  }
}
