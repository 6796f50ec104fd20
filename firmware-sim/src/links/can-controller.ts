import type { CanFrame } from '@mcubus/protocol';
import type { SimTime } from '../kernel/scheduler.js';
import { arbitrationKey } from './can-arbitration.js';
import { assertValidCanFrame } from './can-bitstream.js';
import { CanErrorCounters } from './can-fault-confinement.js';
import type { CanBusEvent, CanControllerState, CanPort } from './endpoints.js';

/** Per-node counters, as `CanBus.stats(name)` reports them. */
export interface CanNodeStats {
  readonly state: CanControllerState;
  readonly tec: number;
  readonly rec: number;
  /** Frames this node sent that were acknowledged (babble frames included). */
  readonly framesSent: number;
  /** Frames handed to this node's onFrame listeners. */
  readonly framesReceived: number;
  /** Frames this node's controller accepted but a `drop` fault kept from its listeners. */
  readonly framesLost: number;
  /** Error frames during this node's own transmissions. */
  readonly txErrors: number;
  /** Error frames during other nodes' transmissions. */
  readonly rxErrors: number;
  readonly arbitrationLost: number;
  /** FD frames this classic-only node destroyed with an error frame. */
  readonly fdFramesRejected: number;
  readonly busOffCount: number;
  readonly txPending: number;
}

/** A frame waiting in (or offered from) a controller's transmit mailboxes. */
export interface TxEntry {
  readonly frame: CanFrame;
  readonly key: number;
  /** Sent by a babbling-node fault, not by the application: no onTxComplete. */
  readonly babble: boolean;
}

export interface BabbleWindow {
  readonly entry: TxEntry;
  readonly fromNs: SimTime;
  readonly untilNs: SimTime;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * One node's CAN controller: TX mailboxes ordered like a hardware mailbox set (lowest arbitration
 * key first, FIFO among equal ids), fault-confinement counters, listeners and statistics. The bus
 * drives it; the node sees it as a CanPort.
 */
export class CanController implements CanPort {
  readonly counters = new CanErrorCounters();
  readonly counts: Mutable<Omit<CanNodeStats, 'state' | 'tec' | 'rec' | 'txPending'>> = {
    framesSent: 0,
    framesReceived: 0,
    framesLost: 0,
    txErrors: 0,
    rxErrors: 0,
    arbitrationLost: 0,
    fdFramesRejected: 0,
    busOffCount: 0,
  };
  /** Earliest start of our next transmission (an error-passive transmitter suspends for 8 bits). */
  eligibleAt: SimTime = 0;
  babble: BabbleWindow | null = null;
  /** Bus-off recovery in progress: 11-recessive-bit sequences seen since `from`. */
  recovery: { count: number; readonly from: SimTime } | null = null;

  readonly #queue: TxEntry[] = [];
  readonly #frameListeners: ((frame: CanFrame, atNs: SimTime, startNs: SimTime) => void)[] = [];
  readonly #txListeners: ((frame: CanFrame, atNs: SimTime, startNs: SimTime) => void)[] = [];
  readonly #eventListeners: ((event: CanBusEvent) => void)[] = [];

  constructor(
    readonly name: string,
    readonly fd: boolean,
    readonly onQueued: () => void,
  ) {}

  transmit(frame: CanFrame): void {
    assertValidCanFrame(frame);
    if (frame.fd && !this.fd)
      throw new RangeError(`${this.name} is a classic CAN controller: it cannot send FD frames`);
    // Copy: the caller may reuse its buffer while the frame waits for the bus.
    const entry: TxEntry = { frame: copyFrame(frame), key: arbitrationKey(frame), babble: false };
    let i = this.#queue.length;
    while (i > 0 && this.#queue[i - 1]!.key > entry.key) i--;
    this.#queue.splice(i, 0, entry);
    this.onQueued();
  }

  onFrame(listener: (frame: CanFrame, atNs: SimTime, startNs: SimTime) => void): void {
    this.#frameListeners.push(listener);
  }

  onTxComplete(listener: (frame: CanFrame, atNs: SimTime, startNs: SimTime) => void): void {
    this.#txListeners.push(listener);
  }

  onBusEvent(listener: (event: CanBusEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  get state(): CanControllerState {
    return this.counters.state;
  }

  get txPending(): number {
    return this.#queue.length;
  }

  abortPending(): number {
    const n = this.#queue.length;
    this.#queue.length = 0;
    return n;
  }

  /** When this node could start a frame (now or later), or null if it has nothing to send. */
  readyAt(now: SimTime): SimTime | null {
    let at: SimTime | null = this.#queue.length > 0 ? now : null;
    const b = this.babble;
    if (b !== null && now < b.untilNs) {
      const from = Math.max(now, b.fromNs);
      at = at === null ? from : Math.min(at, from);
    }
    return at === null ? null : Math.max(at, this.eligibleAt);
  }

  /** The frame this node puts into arbitration now: its best mailbox, or the babble frame if lower. */
  offer(now: SimTime): TxEntry | null {
    const head = this.#queue[0] ?? null;
    const b = this.babble;
    const babbling = b !== null && b.fromNs <= now && now < b.untilNs;
    if (!babbling) return head;
    return head !== null && head.key < b.entry.key ? head : b.entry;
  }

  /** Removes a frame once it has been sent successfully. */
  remove(entry: TxEntry): void {
    const i = this.#queue.indexOf(entry);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  emitFrame(frame: CanFrame, atNs: SimTime, startNs: SimTime): void {
    for (const l of this.#frameListeners) l(copyFrame(frame), atNs, startNs);
  }

  emitTxComplete(frame: CanFrame, atNs: SimTime, startNs: SimTime): void {
    for (const l of this.#txListeners) l(frame, atNs, startNs);
  }

  emitEvent(event: CanBusEvent): void {
    for (const l of this.#eventListeners) l(event);
  }

  snapshot(): CanNodeStats {
    return {
      state: this.state,
      tec: this.counters.tec,
      rec: this.counters.rec,
      ...this.counts,
      txPending: this.#queue.length,
    };
  }
}

export function copyFrame(frame: CanFrame): CanFrame {
  const copy: CanFrame = { id: frame.id, extended: frame.extended, fd: frame.fd, data: frame.data.slice() };
  return frame.brs === undefined ? copy : { ...copy, brs: frame.brs };
}
