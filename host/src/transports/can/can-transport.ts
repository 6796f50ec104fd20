import {
  type CanFrame,
  CauseCounters,
  framePriorityFor,
  HOST_ADDRESS,
  type IsoTpConfig,
  type IsoTpInput,
  IsoTpNode,
  MAX_FRAME_SIZE,
  PF_FUNCTIONAL,
} from '@mcubus/protocol';
import { type CaptureListener, CaptureTap } from '../capture-tap.js';
import type { FrameTransport, TransportEvent, TxStampListener } from '../transport.js';
import { nowUs } from '../uart/serial-line.js';
import { WakeTimer } from '../wake-timer.js';
import type { CanMedia } from './can-media.js';
import { SlcanMedia, type SlcanMediaOptions } from './slcan-media.js';
import { SocketcanMedia } from './socketcan-media.js';

/** Which CAN backend carries the bus. */
export type CanMediaSpec =
  | ({ readonly kind: 'slcan' } & SlcanMediaOptions)
  | { readonly kind: 'socketcan'; readonly iface: string }
  /** A given object, e.g. the daemon's wrapper around a simulator CanPort. */
  | { readonly kind: 'direct'; readonly media: CanMedia };

export function createCanMedia(spec: CanMediaSpec): CanMedia {
  switch (spec.kind) {
    case 'slcan':
      return new SlcanMedia(spec);
    case 'socketcan':
      return new SocketcanMedia({ iface: spec.iface });
    case 'direct':
      return spec.media;
  }
}

export interface CanTransportOptions {
  readonly name: string;
  readonly media: CanMedia | CanMediaSpec;
  /** ISO-TP settings; `address` defaults to the host (0). */
  readonly isotp?: Partial<IsoTpConfig>;
  /** Largest frame accepted for sending (default MAX_FRAME_SIZE). */
  readonly mtu?: number;
}

/** Ignored frames that are normal on a shared bus: counted, not reported as bad input. */
const QUIET_CODES = new Set(['not_for_us']);

/**
 * mcubus over CAN (docs/protocol.md §7): each frame is one ISO-TP message, via the sans-IO IsoTpNode.
 * Frames the node returns go to the media at once; timers only serve the wake-ups the node asks for.
 */
export class CanTransport implements FrameTransport {
  readonly kind = 'can' as const;
  readonly name: string;
  readonly mtu: number;
  readonly media: CanMedia;
  readonly #node: IsoTpNode;
  readonly #counters = new CauseCounters();
  readonly #frameListeners: ((frame: Uint8Array, info: { from?: number; rxUs: number }) => void)[] = [];
  readonly #eventListeners: ((event: TransportEvent) => void)[] = [];
  /** When the first CAN frame (SF/FF) of the message in reception from a sender arrived, by transfer key. */
  readonly #rxStart = new Map<string, number>();
  readonly #wake = new WakeTimer();
  readonly #capture = new CaptureTap();
  #nextHandle = 1;
  #running = false;

  constructor(readonly options: CanTransportOptions) {
    this.name = options.name;
    this.mtu = options.mtu ?? MAX_FRAME_SIZE;
    this.media =
      'kind' in options.media && typeof options.media.kind === 'string'
        ? createCanMedia(options.media as CanMediaSpec)
        : (options.media as CanMedia);
    this.#node = new IsoTpNode({ address: HOST_ADDRESS, ...options.isotp });
    this.media.onFrame((frame, rxUs) => this.#onCanFrame(frame, rxUs));
    this.media.onEvent((e) => this.#emit(e));
  }

  async start(): Promise<void> {
    await this.media.start();
    this.#running = true;
  }

  /** Starts the media retrying in the background when it can (slcan), else reports the failure; never rejects. */
  startInBackground(): void {
    this.#running = true;
    const media = this.media as CanMedia & { startInBackground?: () => void };
    if (media.startInBackground) media.startInBackground();
    else
      media.start().catch((e: unknown) => {
        this.#emit({
          kind: 'error',
          code: 'start_failed',
          detail: e instanceof Error ? e.message : String(e),
        });
      });
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake.cancel();
    const pending = this.#node.pending();
    if (pending.transmitting + pending.queued > 0) {
      this.#counters.add('tx_dropped_stop', pending.transmitting + pending.queued);
    }
    await this.media.stop();
  }

  send(frame: Uint8Array, nextHop: number, priority: 0 | 1 | 2 | 3, onStarted?: TxStampListener): void {
    if (frame.length === 0 || frame.length > this.mtu) {
      this.#bad('bad_send_length', `frame of ${frame.length} bytes not sent (1–${this.mtu})`);
      return;
    }
    if (
      !Number.isInteger(nextHop) ||
      nextHop < 0 ||
      nextHop > 0xff ||
      nextHop === this.#node.config.address
    ) {
      this.#bad('bad_next_hop', `cannot send to CAN address ${nextHop}`);
      return;
    }
    this.#counters.add('tx_frames');
    // Arbitration and queued frames can only delay the real start past this stamp.
    onStarted?.(nowUs());
    this.#drive(
      { type: 'transmit', handle: this.#nextHandle++, to: nextHop, payload: frame, priority },
      nowUs(),
    );
  }

  onFrame(listener: (frame: Uint8Array, info: { from?: number; rxUs: number }) => void): void {
    this.#frameListeners.push(listener);
  }

  onEvent(listener: (event: TransportEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  onCapture(listener: CaptureListener): () => void {
    return this.#capture.add(listener);
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = { ...this.#counters.snapshot() };
    for (const [k, v] of Object.entries(this.#node.counters.snapshot())) out[`isotp_${k}`] = v;
    for (const [k, v] of Object.entries(this.media.counters?.() ?? {})) out[`media_${k}`] = v;
    return out;
  }

  #onCanFrame(frame: CanFrame, rxUs: number): void {
    // Every frame the media saw, ours or not: a capture shows the whole bus.
    if (this.#capture.active) this.#capture.emit({ link: 'can', direction: 'in', atUs: rxUs, frame });
    const pci = frame.data.length > 0 ? (frame.data[0] ?? 0) >> 4 : -1;
    if (frame.extended && (pci === 0 || pci === 1)) this.#rxStart.set(transferKey(frame.id), rxUs);
    const before = this.#node.counters.snapshot();
    this.#drive({ type: 'frame', frame }, rxUs);
    const after = this.#node.counters.snapshot();
    for (const [code, n] of Object.entries(after)) {
      if (n > (before[code] ?? 0) && !QUIET_CODES.has(code) && !code.startsWith('timeout')) {
        this.#emit({
          kind: 'bad_input',
          code,
          detail: `CAN frame id 0x${frame.id.toString(16)} ignored: ${code}`,
        });
      }
    }
  }

  #drive(input: IsoTpInput, now: number): void {
    const out = this.#node.handle(input, now);
    for (const f of out.send) {
      if (this.#capture.active) this.#capture.emit({ link: 'can', direction: 'out', atUs: now, frame: f });
      this.media.send(f);
    }
    for (const e of out.emit) {
      switch (e.type) {
        case 'received': {
          const key = `${e.from}:${e.priority}:${e.functional}`;
          const rxUs = this.#rxStart.get(key) ?? now;
          this.#rxStart.delete(key);
          this.#counters.add('rx_frames');
          for (const l of this.#frameListeners) l(e.payload, { from: e.from, rxUs });
          break;
        }
        case 'transmitted':
          this.#counters.add('tx_done');
          break;
        case 'failed':
          this.#counters.add(`tx_failed_${e.error.code}`);
          this.#emit({
            kind: 'error',
            code: `isotp_${e.error.code}`,
            detail: `to 0x${e.to.toString(16)}: ${e.error.message}`,
          });
          break;
        case 'rx_error':
          this.#counters.add(`rx_failed_${e.error.code}`);
          this.#emit({
            kind: 'bad_input',
            code: `isotp_${e.error.code}`,
            detail: `from 0x${e.from.toString(16)}: ${e.error.message}`,
          });
          break;
      }
    }
    this.#schedule(out.wakeAt);
  }

  /** Wakes the node when it asks, never before its deadline (rounded up to whole µs). */
  #schedule(wakeAt: number | undefined): void {
    this.#wake.schedule(this.#running ? wakeAt : undefined, (now) => this.#drive({ type: 'tick' }, now));
  }

  #bad(code: string, detail: string): void {
    this.#counters.add(`bad_${code}`);
    this.#emit({ kind: 'bad_input', code, detail });
  }

  #emit(event: TransportEvent): void {
    for (const l of this.#eventListeners) l(event);
  }
}

/** Key of a transfer as the 'received' event names it: source, frame priority, functional. */
function transferKey(id: number): string {
  const sa = id & 0xff;
  const pf = (id >>> 16) & 0xff;
  const canPriority = (id >>> 26) & 0x7;
  return `${sa}:${framePriorityFor(canPriority)}:${pf === PF_FUNCTIONAL}`;
}
