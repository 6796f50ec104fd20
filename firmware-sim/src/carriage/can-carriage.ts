import {
  type CanFrame,
  CauseCounters,
  canIdFor,
  IsoTpNode,
  type IsoTpOutput,
  MAX_FRAME_SIZE,
  parseCanId,
} from '@mcubus/protocol';
import type { SimTime, Timer } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import { scheduleWake } from '../kernel/wake.js';
import type { CanPort } from '../links/endpoints.js';
import type { Carriage, OutgoingFrame, RxStamp } from './carriage.js';

export interface CanCarriageOptions {
  /** Our node address on the bus (the ISO-TP source address). */
  readonly address: number;
  readonly fd?: boolean;
}

/**
 * mcubus over CAN: one ISO-TP message per frame (docs/protocol.md §7), driven by the sans-IO IsoTpNode
 * with the simulator's clock. Arbitration decides when a frame starts, so `build` gets no start time
 * (time-sync answers use the two-step follow-up) and `started` reports the real start afterwards.
 */
/** ISO-TP counts that are not errors: other nodes' traffic on a shared bus, frames outside our scheme. */
const BENIGN = new Set(['not_for_us', 'standard_id', 'foreign_id', 'fd_disabled']);

export class CanCarriage implements Carriage {
  readonly kind = 'can';
  readonly mtu = MAX_FRAME_SIZE;
  #node: IsoTpNode;
  readonly #listeners: ((frame: Uint8Array, stamp: RxStamp) => void)[] = [];
  readonly #errors = new CauseCounters();
  #handle = 0;
  /**
   * Per CAN id, the `started` callbacks of our messages in transmit order (null when a message has
   * none). ISO-TP sends messages with the same id one after another and the controller keeps frames
   * of one id in order, so the next single/first frame of that id to complete belongs to the head.
   */
  readonly #startOrder = new Map<
    number,
    { handle: number; started: ((startNs: SimTime) => void) | null }[]
  >();
  /** When the first CAN frame of the message now arriving from each source began. */
  readonly #rxStart = new Map<number, SimTime>();
  #wake: Timer | null = null;
  #powered = true;

  constructor(
    readonly name: string,
    readonly sim: Sim,
    readonly port: CanPort,
    readonly opts: CanCarriageOptions,
  ) {
    // FD with a bit-rate switch: the data phase runs at the bus's data bit rate (without BRS an FD
    // frame's 64 bytes crawl at the arbitration rate).
    this.#node = new IsoTpNode({
      address: opts.address,
      fd: opts.fd ?? false,
      brs: opts.fd ?? false,
      frameSize: opts.fd ? 64 : 8,
    });
    port.onFrame((frame, _atNs, startNs) => this.#onCanFrame(frame, startNs));
    port.onTxComplete((frame, _atNs, startNs) => this.#onTxComplete(frame, startNs));
  }

  send(frame: OutgoingFrame): void {
    if (!this.#powered) return;
    const handle = ++this.#handle;
    const bytes = frame.build(undefined);
    const functional = frame.nextHop === 0xff;
    const id = canIdFor({
      priority: frame.priority,
      target: frame.nextHop,
      source: this.opts.address,
      functional,
    });
    const order = this.#startOrder.get(id) ?? [];
    order.push({ handle, started: frame.started ?? null });
    this.#startOrder.set(id, order);
    this.#apply(
      this.#node.handle(
        { type: 'transmit', handle, to: frame.nextHop, payload: bytes, priority: frame.priority, functional },
        this.#nowUs(),
      ),
    );
  }

  readonly #badInput: ((code: string, detail: string) => void)[] = [];

  onBadInput(listener: (code: string, detail: string) => void): void {
    this.#badInput.push(listener);
  }

  onFrame(listener: (frame: Uint8Array, stamp: RxStamp) => void): void {
    this.#listeners.push(listener);
  }

  errorCounts(): { isotp: number } {
    let isotp = 0;
    for (const [code, n] of Object.entries(this.#node.counters.snapshot())) if (!BENIGN.has(code)) isotp += n;
    return { isotp };
  }

  counters(): Record<string, number> {
    return { ...this.#node.counters.snapshot(), ...this.#errors.snapshot() };
  }

  setPowered(on: boolean): void {
    this.#powered = on;
  }

  reset(): void {
    // A reset loses everything in flight: the controller's mailboxes and the ISO-TP state in RAM.
    this.port.abortPending();
    this.#wake?.cancel();
    this.#wake = null;
    this.#startOrder.clear();
    this.#rxStart.clear();
    this.#node = new IsoTpNode(this.#node.config);
  }

  #nowUs(): number {
    return this.sim.now / 1000;
  }

  #onCanFrame(frame: CanFrame, startNs: SimTime): void {
    if (!this.#powered) return;
    const pciType = (frame.data[0] ?? 0) >> 4;
    // A single or first frame addressed to us starts a message: remember when it began on the wire,
    // per sender (source address), for the reception it opens. Other nodes' traffic must not touch it.
    const id = parseCanId(frame.id, frame.extended);
    const forUs = id.ok && (id.value.target === this.opts.address || id.value.functional);
    if (forUs && (pciType === 0 || pciType === 1)) this.#rxStart.set(id.value.source, startNs);
    this.#apply(this.#node.handle({ type: 'frame', frame }, this.#nowUs()));
  }

  #onTxComplete(frame: CanFrame, startNs: SimTime): void {
    const pciType = (frame.data[0] ?? 0) >> 4;
    if (pciType !== 0 && pciType !== 1) return; // only single and first frames start a message
    const head = this.#startOrder.get(frame.id)?.shift();
    head?.started?.(startNs);
  }

  #apply(out: IsoTpOutput): void {
    for (const f of out.send) this.port.transmit(f);
    for (const e of out.emit) {
      if (e.type === 'received') {
        const endNs = this.sim.now;
        const stamp = { startNs: this.#rxStart.get(e.from) ?? endNs, endNs };
        for (const l of this.#listeners) l(e.payload, stamp);
      } else if (e.type === 'failed') {
        this.#errors.add(`tx_${e.error.code}`);
        for (const order of this.#startOrder.values()) {
          const i = order.findIndex((o) => o.handle === e.handle);
          if (i >= 0) order.splice(i, 1);
        }
      } else if (e.type === 'rx_error') {
        this.#errors.add(`rx_${e.error.code}`);
        for (const l of this.#badInput) l(e.error.code, `from 0x${e.from.toString(16)}: ${e.error.message}`);
      }
    }
    this.#schedule(out.wakeAt);
  }

  #schedule(wakeAtUs: number | undefined): void {
    if (wakeAtUs === undefined) return;
    if (this.#wake && this.#wake.at <= Math.ceil(wakeAtUs * 1000)) return;
    this.#wake?.cancel();
    this.#wake = scheduleWake(this.sim, wakeAtUs, (nowUs) => {
      this.#wake = null;
      this.#apply(this.#node.handle({ type: 'tick' }, nowUs));
    });
  }
}
