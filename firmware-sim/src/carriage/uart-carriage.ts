import { CauseCounters, CobsStreamDecoder, encodeStreamFrame, MAX_FRAME_SIZE } from '@mcubus/protocol';
import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import type { ByteEndpoint } from '../links/endpoints.js';
import type { Carriage, OutgoingFrame, RxStamp } from './carriage.js';

/**
 * mcubus over a UART: COBS frames with a 0x00 delimiter (docs/protocol.md §6). Stamps a received frame
 * with the wire times of its first byte and of its delimiter, and tells `build` exactly when the frame
 * will start (after whatever is already queued in the transmitter).
 */
export class UartCarriage implements Carriage {
  readonly kind = 'uart';
  readonly mtu: number;
  #decoder: CobsStreamDecoder;
  #powered = true;
  readonly #listeners: ((frame: Uint8Array, stamp: RxStamp) => void)[] = [];
  readonly #errors = new CauseCounters();
  #pieceStartNs: SimTime | null = null;
  /** The line was idle long enough that we lead with an extra delimiter (spec §6). */
  #lastTxEndNs: SimTime = Number.NEGATIVE_INFINITY;

  constructor(
    readonly name: string,
    readonly sim: Sim,
    readonly endpoint: ByteEndpoint,
    opts: { mtu?: number } = {},
  ) {
    this.mtu = opts.mtu ?? MAX_FRAME_SIZE;
    this.#decoder = new CobsStreamDecoder(this.mtu);
    endpoint.onReceive((bytes, atNs) => this.#receive(bytes, atNs));
  }

  send(frame: OutgoingFrame): void {
    if (!this.#powered) return;
    const idle = Math.max(this.sim.now, this.endpoint.txIdleAt);
    const leadDelimiter = idle - this.#lastTxEndNs > 10 * this.endpoint.byteTimeNs;
    const startNs = idle + (leadDelimiter ? this.endpoint.byteTimeNs : 0);
    const wire = encodeStreamFrame(frame.build(startNs));
    const bytes = leadDelimiter ? new Uint8Array([0, ...wire]) : wire;
    this.endpoint.write(bytes);
    this.#lastTxEndNs = idle + bytes.length * this.endpoint.byteTimeNs;
    if (frame.started) {
      const started = frame.started;
      this.sim.scheduler.at(startNs, () => started(startNs));
    }
  }

  readonly #badInput: ((code: string, detail: string) => void)[] = [];

  onBadInput(listener: (code: string, detail: string) => void): void {
    this.#badInput.push(listener);
  }

  onFrame(listener: (frame: Uint8Array, stamp: RxStamp) => void): void {
    this.#listeners.push(listener);
  }

  setPowered(on: boolean): void {
    this.#powered = on;
  }

  errorCounts(): { framing: number } {
    const c = this.#decoder.counters;
    return { framing: c.get('cobs_overrun') + c.get('cobs_zero') + c.get('oversize') };
  }

  counters(): Record<string, number> {
    return { ...this.#decoder.counters.snapshot(), ...this.#errors.snapshot() };
  }

  reset(): void {
    // RAM is lost: a fresh decoder forgets a partial frame without counting it as an error.
    this.#decoder = new CobsStreamDecoder(this.mtu);
    this.#pieceStartNs = null;
  }

  #receive(bytes: Uint8Array, atNs: SimTime): void {
    if (!this.#powered) return;
    const byteNs = this.endpoint.byteTimeNs;
    // The chunk's last byte ended at atNs; byte i ended (len-1-i) byte times earlier.
    const endOf = (i: number) => atNs - (bytes.length - 1 - i) * byteNs;
    let from = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== 0) {
        if (this.#pieceStartNs === null) this.#pieceStartNs = endOf(i) - byteNs;
        continue;
      }
      const results = this.#decoder.push(bytes.subarray(from, i + 1));
      const stamp = { startNs: this.#pieceStartNs ?? endOf(i) - byteNs, endNs: endOf(i) };
      this.#pieceStartNs = null;
      from = i + 1;
      for (const r of results) {
        if (r.ok) for (const l of this.#listeners) l(r.value, stamp);
        else for (const l of this.#badInput) l(r.error.code, r.error.message);
      }
    }
    if (from < bytes.length) this.#decoder.push(bytes.subarray(from));
  }
}
