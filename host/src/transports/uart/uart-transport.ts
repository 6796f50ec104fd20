import { CauseCounters, CobsStreamDecoder, encodeStreamFrame, MAX_FRAME_SIZE } from '@mcubus/protocol';
import { type CaptureListener, CaptureTap } from '../capture-tap.js';
import type { FrameTransport, TransportEvent, TxStampListener } from '../transport.js';
import { charTimeUs, nowUs, type ReopenPolicy, SerialLine, type SerialSettings } from './serial-line.js';
import { UartCaptureSplitter } from './uart-capture.js';

export interface UartTransportOptions extends ReopenPolicy {
  readonly name: string;
  readonly path: string;
  /** Default 115200. */
  readonly baudRate?: number;
  /** Default 8N1. */
  readonly dataBits?: 5 | 6 | 7 | 8;
  readonly parity?: 'none' | 'even' | 'odd';
  readonly stopBits?: 1 | 2;
  /** Largest frame accepted and sent (default MAX_FRAME_SIZE). */
  readonly mtu?: number;
}

/** Idle time after which a frame is preceded by an extra delimiter (§6: 10 character times). */
const IDLE_CHARS = 10;

/**
 * mcubus over a point-to-point UART (docs/protocol.md §6): COBS frames ended by 0x00, an extra 0x00
 * before a frame after idle. Delivers the raw frame bytes; frame checks are the link core's job.
 */
export class UartTransport implements FrameTransport {
  readonly kind = 'uart' as const;
  readonly name: string;
  readonly mtu: number;
  readonly #line: SerialLine;
  readonly #charUs: number;
  readonly #counters = new CauseCounters();
  readonly #frameListeners: ((frame: Uint8Array, info: { from?: number; rxUs: number }) => void)[] = [];
  readonly #eventListeners: ((event: TransportEvent) => void)[] = [];
  #decoder: CobsStreamDecoder;
  /** Single-bit repairs made by decoders replaced since (a reopened port starts a fresh one). */
  #repairedEarlier = 0;
  /** Estimated host time at which the first byte of the frame being collected started arriving. */
  #frameStartUs: number | undefined;
  /** Estimated end on the wire of what we wrote last; a line idle since long gets a leading 0x00. */
  #txEndUs = Number.NEGATIVE_INFINITY;
  readonly #capture = new CaptureTap();
  /** Raw received pieces for the capture, fed only while one listens. */
  #captureRx: UartCaptureSplitter;

  constructor(readonly options: UartTransportOptions) {
    this.name = options.name;
    this.mtu = options.mtu ?? MAX_FRAME_SIZE;
    const settings: SerialSettings = {
      path: options.path,
      baudRate: options.baudRate ?? 115200,
      dataBits: options.dataBits ?? 8,
      parity: options.parity ?? 'none',
      stopBits: options.stopBits ?? 1,
    };
    this.#charUs = charTimeUs(settings);
    this.#decoder = new CobsStreamDecoder(this.mtu);
    this.#captureRx = new UartCaptureSplitter(this.mtu, this.#charUs);
    this.#line = new SerialLine(
      settings,
      {
        onOpen: () => {
          this.#txEndUs = Number.NEGATIVE_INFINITY;
        },
        onData: (bytes, rxUs) => this.#onData(bytes, rxUs),
        onClosed: () => this.#reset(),
        onEvent: (e) => this.#emit(e),
      },
      options,
    );
  }

  start(): Promise<void> {
    return this.#line.start();
  }

  /** Like start(), but keeps retrying with backoff (reported as `lost` events) and never rejects. */
  startInBackground(): void {
    this.#line.startInBackground();
  }

  stop(): Promise<void> {
    return this.#line.stop();
  }

  send(frame: Uint8Array, _nextHop: number, _priority: 0 | 1 | 2 | 3, onStarted?: TxStampListener): void {
    if (frame.length === 0 || frame.length > this.mtu) {
      this.#bad('bad_send_length', `frame of ${frame.length} bytes not sent (1–${this.mtu})`);
      return;
    }
    const now = nowUs();
    const encoded = encodeStreamFrame(frame);
    const idle = now > this.#txEndUs + IDLE_CHARS * this.#charUs;
    const bytes = idle ? withLeadingDelimiter(encoded) : encoded;
    if (!this.#line.write(bytes)) {
      this.#counters.add('tx_dropped_closed');
      return;
    }
    this.#counters.add('tx_frames');
    if (this.#capture.active) {
      this.#capture.emit({ link: 'uart', direction: 'out', atUs: now, bytes });
    }
    // The frame's first byte follows what is still in flight and the leading delimiter.
    onStarted?.(Math.max(now, this.#txEndUs) + (idle ? this.#charUs : 0));
    this.#txEndUs = Math.max(now, this.#txEndUs) + bytes.length * this.#charUs;
  }

  onFrame(listener: (frame: Uint8Array, info: { from?: number; rxUs: number }) => void): void {
    this.#frameListeners.push(listener);
  }

  onEvent(listener: (event: TransportEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  onCapture(listener: CaptureListener): () => void {
    // The splitter only runs while a capture listens: a first capture may join in the middle of a piece.
    if (!this.#capture.active) {
      if (this.#decoder.pending > 0) this.#captureRx.resync();
      else this.#captureRx.reset();
    }
    return this.#capture.add(listener);
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = { ...this.#counters.snapshot() };
    for (const [k, v] of Object.entries(this.#line.counters.snapshot())) out[`line_${k}`] = v;
    const repaired = this.#repairedEarlier + this.#decoder.counters.get('repaired_bit');
    if (repaired > 0) out.rx_repaired_bit = repaired;
    return out;
  }

  #onData(bytes: Uint8Array, rxUs: number): void {
    if (this.#capture.active) {
      for (const p of this.#captureRx.push(bytes, rxUs)) {
        this.#capture.emit({
          link: 'uart',
          direction: 'in',
          atUs: Math.round(p.endUs),
          bytes: p.bytes,
          ...(p.originalLength !== p.bytes.length ? { originalLength: p.originalLength } : {}),
          ...(p.error !== undefined ? { error: p.error } : {}),
        });
      }
    }
    // Byte i of the chunk started arriving (length − i) character times before the last one ended.
    const n = bytes.length;
    let from = 0;
    for (let i = 0; i <= n; i++) {
      const isEnd = i === n;
      if (!isEnd && bytes[i] !== 0) {
        if (this.#frameStartUs === undefined && this.#decoder.pending === 0 && i === from) {
          this.#frameStartUs = rxUs - (n - i) * this.#charUs;
        }
        continue;
      }
      // A piece up to (and including) a delimiter, or the chunk's tail.
      const piece = bytes.subarray(from, isEnd ? n : i + 1);
      from = i + 1;
      if (piece.length === 0) continue;
      for (const r of this.#decoder.push(piece)) {
        if (r.ok) {
          this.#counters.add('rx_frames');
          const info = { rxUs: Math.round(this.#frameStartUs ?? rxUs) };
          for (const l of this.#frameListeners) l(r.value, info);
        } else {
          this.#bad(r.error.code, r.error.message);
        }
      }
      if (!isEnd) this.#frameStartUs = undefined;
    }
  }

  #reset(): void {
    this.#repairedEarlier += this.#decoder.counters.get('repaired_bit');
    this.#decoder = new CobsStreamDecoder(this.mtu);
    this.#captureRx.reset();
    this.#frameStartUs = undefined;
  }

  #bad(code: string, detail: string): void {
    this.#counters.add(`bad_${code}`);
    this.#emit({ kind: 'bad_input', code, detail });
  }

  #emit(event: TransportEvent): void {
    for (const l of this.#eventListeners) l(event);
  }
}

function withLeadingDelimiter(encoded: Uint8Array): Uint8Array {
  const out = new Uint8Array(encoded.length + 1);
  out.set(encoded, 1);
  return out;
}
