import type { CanFrame } from '@mcubus/protocol';
import type { SimTime, Timer } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import { arbitrate, arbitrationKey } from './can-arbitration.js';
import { assertValidCanFrame, type CanWireFrame, canWireFrame } from './can-bitstream.js';
import { CanController, type CanNodeStats, type TxEntry } from './can-controller.js';
import { describeCanFrame } from './can-format.js';
import { type CanBitrates, wireSpanNs } from './can-timing.js';
import type { CanBusEvent, CanControllerState, CanPort } from './endpoints.js';
import { type FaultDecision, FaultPlan, type FaultRule } from './faults.js';

/**
 * A simulated CAN / CAN FD bus. Whole frames are the unit of simulation, but every duration comes from
 * the frame's real bit stream (stuff bits, bit-rate switch), and arbitration, acknowledgement, error
 * frames, automatic retransmission and fault confinement follow ISO 11898-1. See docs/simulator-can.md.
 *
 * Timeline of one transmission that starts (SOF) at t:
 *   - success: receivers get the frame and the sender onTxComplete at the end of EOF; the bus is free
 *     for the next SOF after the 3-bit intermission;
 *   - error: the error flag starts on the bit after the one where the error is detected; error flag (6)
 *     + error delimiter (8) + intermission (3) = 17 nominal bits later the bus is free, and the frame,
 *     still first in its sender's mailboxes, competes again.
 */

export interface CanBusOptions {
  readonly name: string;
  /** Arbitration-phase bit rate, bit/s. */
  readonly nominalBitrate: number;
  /** Data-phase bit rate of FD frames with BRS, bit/s. Default: the nominal rate. */
  readonly dataBitrate?: number;
  readonly faults?: readonly FaultRule[];
  /** Bus-off nodes recover by themselves after 128 × 11 recessive bits (as most controllers can be set to). */
  readonly autoRecover?: boolean;
}

export interface CanAttachOptions {
  /** CAN FD capable controller (default true). A classic-only controller destroys every FD frame. */
  readonly fd?: boolean;
}

export interface CanBabbleOptions {
  readonly id: number;
  readonly extended?: boolean;
  /** Payload of the babble frames; default 8 zero bytes (classic). */
  readonly data?: Uint8Array;
  readonly fd?: boolean;
  readonly brs?: boolean;
  readonly fromNs: SimTime;
  readonly untilNs: SimTime;
}

export interface CanErrorInjection {
  /** Only a frame sent by this node; default the next frame on the bus. */
  readonly sender?: string;
  /** Wire bit (0 = SOF, stuff bits counted) hit by the error; default the middle of SOF..CRC delimiter. */
  readonly bit?: number;
}

export type CanErrorCause = 'ack' | 'corrupt' | 'injected' | 'fd_format' | 'late';

/** One use of the bus, as a bus analyser would log it; reported when the bus is free again. */
export interface CanBusActivity {
  readonly sender: string;
  readonly frame: CanFrame;
  readonly babble: boolean;
  readonly startNs: SimTime;
  /** End of the intermission, or of the error frame. */
  readonly endNs: SimTime;
  readonly outcome: 'ok' | 'error';
  readonly cause?: CanErrorCause;
}

export interface CanBusTotals {
  readonly framesOk: number;
  readonly errorFrames: number;
  /** Virtual time the bus carried frames or error frames. */
  readonly busyNs: SimTime;
}

export const CAN_ERROR_FLAG_BITS = 6;
export const CAN_ERROR_DELIMITER_BITS = 8;
/** Error flag + error delimiter + intermission; superposed error flags (up to 12 bits) are not modelled. */
export const CAN_ERROR_FRAME_BITS = CAN_ERROR_FLAG_BITS + CAN_ERROR_DELIMITER_BITS + 3;
/** Recessive bits an error-passive transmitter waits after its intermission before its next SOF. */
export const CAN_SUSPEND_TRANSMISSION_BITS = 8;
export const CAN_BUS_OFF_RECOVERY_SEQUENCES = 128;
export const CAN_RECOVERY_SEQUENCE_BITS = 11;

interface Delivery {
  readonly frame: CanFrame;
  readonly sender: string;
  readonly receivers: readonly CanController[];
  /** SOF of the frame on the wire. */
  readonly startNs: SimTime;
}

type ErrorHit = { readonly bit: number; readonly cause: CanErrorCause };

export class CanBus {
  readonly name: string;
  readonly rates: Required<CanBitrates>;
  /** Duration of one nominal bit, ns. */
  readonly bitNs: number;
  readonly autoRecover: boolean;

  readonly #sim: Sim;
  readonly #plan: FaultPlan;
  readonly #nodes: CanController[] = [];
  readonly #byName = new Map<string, CanController>();
  readonly #monitors: ((activity: CanBusActivity) => void)[] = [];
  readonly #injections: CanErrorInjection[] = [];
  /** Reordered frames waiting for the next delivery (or for the bus to go idle). */
  readonly #held: Delivery[] = [];

  /** A frame or error frame occupies the bus. */
  #busy = false;
  /** When the bus is free for the next SOF. */
  #freeAt: SimTime = 0;
  #arbitration: Timer | null = null;
  /** Start of the current run of recessive bits (bus-off recovery counts 11-bit runs in it). */
  #recessiveFrom: SimTime | null = 0;
  /** Bumped at every SOF, so recovery checks scheduled during an idle period see it ended. */
  #runGeneration = 0;
  #pendingDeliveries = 0;
  #lastDeliveryAt: SimTime = 0;
  #framesOk = 0;
  #errorFrames = 0;
  #busyNs: SimTime = 0;

  constructor(sim: Sim, options: CanBusOptions) {
    const { nominalBitrate, dataBitrate = nominalBitrate } = options;
    for (const [what, rate] of [
      ['nominalBitrate', nominalBitrate],
      ['dataBitrate', dataBitrate],
    ] as const) {
      if (!(Number.isFinite(rate) && rate > 0))
        throw new RangeError(`${what} must be a positive bit rate, not ${rate}`);
    }
    this.#sim = sim;
    this.name = options.name;
    this.rates = { nominalBitrate, dataBitrate };
    this.bitNs = 1e9 / nominalBitrate;
    this.autoRecover = options.autoRecover ?? false;
    this.#plan = new FaultPlan(options.faults ?? [], sim.rng(options.name));
  }

  attach(nodeName: string, options: CanAttachOptions = {}): CanPort {
    if (this.#byName.has(nodeName)) throw new Error(`${this.name}: node ${nodeName} is already attached`);
    const node = new CanController(nodeName, options.fd ?? true, () => this.#kick());
    this.#nodes.push(node);
    this.#byName.set(nodeName, node);
    this.#sim.record(this.name, 'attach', `${nodeName} ${node.fd ? 'fd' : 'classic'}`);
    return node;
  }

  stats(nodeName: string): CanNodeStats {
    return this.#node(nodeName).snapshot();
  }

  get totals(): CanBusTotals {
    return { framesOk: this.#framesOk, errorFrames: this.#errorFrames, busyNs: this.#busyNs };
  }

  /** Reports every frame and error frame on the bus when it ends, like a bus analyser. */
  monitor(listener: (activity: CanBusActivity) => void): void {
    this.#monitors.push(listener);
  }

  /**
   * Babbling-node fault: from `fromNs` until `untilNs` the node requests the same frame again as soon
   * as the bus is free. It still arbitrates, so ids lower than the babble id keep getting through.
   */
  babble(nodeName: string, options: CanBabbleOptions): void {
    const node = this.#node(nodeName);
    const frame: CanFrame = {
      id: options.id,
      extended: options.extended ?? false,
      fd: options.fd ?? false,
      data: options.data?.slice() ?? new Uint8Array(8),
      ...(options.brs === undefined ? {} : { brs: options.brs }),
    };
    assertValidCanFrame(frame);
    node.babble = {
      entry: { frame, key: arbitrationKey(frame), babble: true },
      fromNs: options.fromNs,
      untilNs: options.untilNs,
    };
    this.#sim.record(
      this.name,
      'babble',
      `${nodeName} ${describeCanFrame(frame)} from=${options.fromNs} until=${options.untilNs}`,
    );
    this.#sim.scheduler.at(Math.max(this.#sim.now, options.fromNs), () => this.#kick());
  }

  /** Makes the next matching transmission attempt fail with an error frame (like a `corrupt` fault). */
  injectError(injection: CanErrorInjection = {}): void {
    this.#injections.push(injection);
  }

  /** Starts bus-off recovery of a node (what software does when auto recovery is off). */
  requestRecovery(nodeName: string): void {
    const node = this.#node(nodeName);
    if (node.state !== 'bus_off' || node.recovery !== null) return;
    node.recovery = { count: 0, from: this.#sim.now };
    this.#kick();
  }

  /**
   * Time of bits [from, to) of a frame, rounded to the ns. Every instant of a frame is computed from its
   * SOF, so rounding never accumulates within a frame (and is exact at the usual bit rates).
   */
  #span(wire: CanWireFrame, from: number, to: number): SimTime {
    return Math.round(wireSpanNs(wire, from, to, this.rates));
  }

  /** Time of `n` nominal bits, rounded to the ns. */
  #bits(n: number): SimTime {
    return Math.round(n * this.bitNs);
  }

  #node(nodeName: string): CanController {
    const node = this.#byName.get(nodeName);
    if (node === undefined) throw new Error(`${this.name}: no node ${nodeName}`);
    return node;
  }

  /** Makes sure arbitration runs as soon as the bus is free. */
  #kick(): void {
    if (this.#busy) return; // the end of the current frame arbitrates anyway
    const at = Math.max(this.#sim.now, this.#freeAt);
    if (this.#arbitration !== null) {
      if (this.#arbitration.at <= at) return;
      this.#arbitration.cancel();
    }
    // Scheduled rather than run now, so that every node queuing at this same instant competes.
    this.#arbitration = this.#sim.scheduler.at(at, () => this.#arbitrate());
  }

  #arbitrate(): void {
    this.#arbitration = null;
    const now = this.#sim.now;
    this.#settleRecovery(now);
    const contenders: { node: CanController; entry: TxEntry }[] = [];
    let wake = Number.POSITIVE_INFINITY;
    for (const node of this.#nodes) {
      if (node.state === 'bus_off') continue;
      const ready = node.readyAt(now);
      if (ready === null) continue;
      const entry = ready <= now ? node.offer(now) : null;
      if (entry === null) wake = Math.min(wake, ready);
      else contenders.push({ node, entry });
    }
    if (contenders.length === 0) {
      this.#onIdle(now);
      if (wake < Number.POSITIVE_INFINITY)
        this.#arbitration = this.#sim.scheduler.at(wake, () => this.#arbitrate());
      return;
    }
    const winner = contenders[arbitrate(contenders.map((c) => c.entry.key))]!;
    const lost: string[] = [];
    for (const c of contenders) {
      if (c === winner) continue;
      if (c.entry.key === winner.entry.key) {
        // Two nodes sending the same arbitration field is a network configuration error; real
        // controllers would both continue and collide. We let the earlier-attached node go first.
        this.#sim.record(
          this.name,
          'id_collision',
          `${winner.node.name},${c.node.name} ${describeCanFrame(c.entry.frame)}`,
        );
      }
      c.node.counts.arbitrationLost++;
      lost.push(c.node.name);
    }
    this.#endRecessiveRun(now);
    this.#start(winner.node, winner.entry, lost);
  }

  #start(node: CanController, entry: TxEntry, lost: readonly string[]): void {
    const start = this.#sim.now;
    const frame = entry.frame;
    const wire = canWireFrame(frame, { esi: node.state === 'error_passive' });
    // Units for the fault plan are transmission attempts; corruption hits a bit of SOF..CRC delimiter.
    const decision = this.#plan.decide(start, node.name, wire.ackSlot);
    const injectedBit = this.#takeInjection(node.name, wire);
    const receivers = this.#nodes.filter((n) => n !== node && n.state !== 'bus_off');

    // Every reason this attempt fails, as the wire bit where it is detected; the earliest one wins.
    const hits: ErrorHit[] = [];
    // A classic-only controller reads FDF as a reserved bit and flags a form error on the next bit.
    if (frame.fd && receivers.some((r) => !r.fd)) hits.push({ bit: wire.fdfBit + 1, cause: 'fd_format' });
    if (decision.corruptBit !== null) hits.push({ bit: decision.corruptBit + 1, cause: 'corrupt' });
    if (injectedBit !== null) hits.push({ bit: injectedBit + 1, cause: 'injected' });
    // Nobody to acknowledge: the transmitter sees a recessive ACK slot.
    if (receivers.length === 0) hits.push({ bit: wire.ackSlot + 1, cause: 'ack' });
    const hit = hits.reduce<ErrorHit | null>((a, b) => (a === null || b.bit < a.bit ? b : a), null);

    this.#busy = true;
    const lostText = lost.length > 0 ? ` lost=${lost.join(',')}` : '';
    this.#sim.record(
      this.name,
      'tx',
      `${node.name} ${describeCanFrame(frame)} bits=${wire.levels.length}${entry.babble ? ' babble' : ''}${lostText}`,
    );
    if (hit === null) this.#runFrame(node, entry, wire, receivers, decision);
    else this.#runErrorFrame(node, entry, wire, receivers, hit);
  }

  #runErrorFrame(
    node: CanController,
    entry: TxEntry,
    wire: CanWireFrame,
    receivers: readonly CanController[],
    hit: ErrorHit,
  ): void {
    const start = this.#sim.now;
    const detectNs = start + this.#span(wire, 0, hit.bit);
    const endNs = detectNs + this.#bits(CAN_ERROR_FRAME_BITS);
    this.#freeAt = endNs;
    const frame = entry.frame;
    this.#sim.scheduler.at(detectNs, () => {
      const before = this.#states([node, ...receivers]);
      // Error-active nodes send a dominant error flag; passive ones a recessive one.
      const activeFlag = [node, ...receivers].some((n) => before.get(n) === 'error_active');
      node.counts.txErrors++;
      node.counters.txError(hit.cause === 'ack');
      for (const r of receivers) {
        r.counts.rxErrors++;
        r.counters.rxError();
        if (hit.cause === 'fd_format' && !r.fd) r.counts.fdFramesRejected++;
      }
      const detail = `${hit.cause} tx=${node.name} ${describeCanFrame(frame)} bit=${hit.bit}`;
      this.#sim.record(this.name, 'error', detail);
      const event: CanBusEvent = { kind: 'error_frame', atNs: detectNs, detail };
      node.emitEvent(event);
      for (const r of receivers) r.emitEvent(event);
      this.#reportStates(before);
      // Bus-off recovery counts recessive bits: they start after an active error flag, or, if every
      // flag is passive, after the frame's last dominant bit (an unacknowledged ACK slot stays recessive).
      this.#recessiveFrom = activeFlag
        ? detectNs + this.#bits(CAN_ERROR_FLAG_BITS)
        : start + this.#span(wire, 0, lastDominantBefore(wire, Math.min(hit.bit, wire.ackSlot)) + 1);
    });
    this.#sim.scheduler.at(endNs, () => {
      this.#errorFrames++;
      this.#finish(node, entry, start, 'error', hit.cause);
    });
  }

  #runFrame(
    node: CanController,
    entry: TxEntry,
    wire: CanWireFrame,
    receivers: readonly CanController[],
    decision: FaultDecision,
  ): void {
    const start = this.#sim.now;
    const eofNs = start + this.#span(wire, 0, wire.eofEnd);
    // `duplicate`: the transmitter sees an error in the last EOF bit, after the receivers accepted the
    // frame, and sends it again. `drop` takes precedence (the frame is not received at all).
    const late = decision.duplicate && !decision.drop;
    const endNs = late
      ? eofNs + this.#bits(CAN_ERROR_FRAME_BITS)
      : start + this.#span(wire, 0, wire.levels.length);
    this.#freeAt = endNs;
    const frame = entry.frame;
    this.#sim.scheduler.at(eofNs, () => {
      const before = this.#states([node, ...receivers]);
      for (const r of receivers) r.counters.rxSuccess();
      if (late) {
        node.counts.txErrors++;
        node.counters.txError(false);
        const detail = `late tx=${node.name} ${describeCanFrame(frame)} bit=${wire.eofEnd - 1}`;
        this.#sim.record(this.name, 'fault', `duplicate ${node.name} ${describeCanFrame(frame)}`);
        this.#sim.record(this.name, 'error', detail);
        node.emitEvent({ kind: 'error_frame', atNs: eofNs, detail });
        this.#recessiveFrom = eofNs + this.#bits(CAN_ERROR_FLAG_BITS);
      } else {
        node.counts.framesSent++;
        node.counters.txSuccess();
        node.remove(entry);
        this.#sim.record(this.name, 'ack', `${node.name} ${describeCanFrame(frame)}`);
        // Last dominant bit of a good frame: the ACK slot.
        this.#recessiveFrom = start + this.#span(wire, 0, wire.ackSlot + 1);
      }
      this.#reportStates(before);
      if (decision.drop) {
        for (const r of receivers) r.counts.framesLost++;
        this.#sim.record(this.name, 'fault', `drop ${node.name} ${describeCanFrame(frame)}`);
      } else if (receivers.length > 0) {
        this.#queueDelivery({ frame, sender: node.name, receivers, startNs: start }, decision);
      }
      if (!late && !entry.babble) node.emitTxComplete(frame, eofNs, start);
    });
    this.#sim.scheduler.at(endNs, () => {
      if (late) this.#errorFrames++;
      else this.#framesOk++;
      this.#finish(node, entry, start, late ? 'error' : 'ok', late ? 'late' : undefined);
    });
  }

  /** The bus is free again after a frame or an error frame. */
  #finish(
    node: CanController,
    entry: TxEntry,
    start: SimTime,
    outcome: 'ok' | 'error',
    cause: CanErrorCause | undefined,
  ): void {
    const end = this.#sim.now;
    this.#busy = false;
    this.#busyNs += end - start;
    if (node.state === 'error_passive') node.eligibleAt = end + this.#bits(CAN_SUSPEND_TRANSMISSION_BITS);
    const activity: CanBusActivity = {
      sender: node.name,
      frame: entry.frame,
      babble: entry.babble,
      startNs: start,
      endNs: end,
      outcome,
      ...(cause === undefined ? {} : { cause }),
    };
    for (const m of this.#monitors) m(activity);
    this.#kick();
  }

  #queueDelivery(delivery: Delivery, decision: FaultDecision): void {
    const now = this.#sim.now;
    const what = `${delivery.sender} ${describeCanFrame(delivery.frame)}`;
    if (decision.reorder) {
      this.#sim.record(this.name, 'fault', `reorder ${what}`);
      this.#held.push(delivery);
      return;
    }
    if (decision.extraDelayNs > 0) {
      this.#sim.record(this.name, 'fault', `delay ${what} +${Math.round(decision.extraDelayNs)}ns`);
    }
    // A slow receive path is still a FIFO: a delayed frame holds back the frames behind it.
    const at = Math.max(now + decision.extraDelayNs, this.#lastDeliveryAt);
    this.#lastDeliveryAt = at;
    if (at <= now && this.#pendingDeliveries === 0) {
      this.#deliver(delivery);
      return;
    }
    this.#pendingDeliveries++;
    this.#sim.scheduler.at(at, () => {
      this.#pendingDeliveries--;
      this.#deliver(delivery);
    });
  }

  #deliver(delivery: Delivery): void {
    const now = this.#sim.now;
    const to = delivery.receivers.map((r) => r.name).join(',');
    this.#sim.record(this.name, 'rx', `${describeCanFrame(delivery.frame)} from=${delivery.sender} to=${to}`);
    for (const r of delivery.receivers) {
      r.counts.framesReceived++;
      r.emitFrame(delivery.frame, now, delivery.startNs);
    }
    // Frames held back by `reorder` come right after the frame that overtook them.
    for (const held of this.#held.splice(0)) this.#deliver(held);
  }

  /** Nothing to send: release reordered frames rather than hold them forever. */
  #onIdle(now: SimTime): void {
    if (this.#held.length > 0) {
      const held = this.#held.splice(0);
      const at = Math.max(now, this.#lastDeliveryAt);
      this.#lastDeliveryAt = at;
      this.#pendingDeliveries++;
      this.#sim.scheduler.at(at, () => {
        this.#pendingDeliveries--;
        for (const d of held) this.#deliver(d);
      });
    }
    this.#scheduleRecoveryChecks(now);
  }

  #takeInjection(sender: string, wire: CanWireFrame): number | null {
    const i = this.#injections.findIndex((inj) => inj.sender === undefined || inj.sender === sender);
    if (i < 0) return null;
    const [injection] = this.#injections.splice(i, 1);
    const bit = injection!.bit ?? Math.floor(wire.ackSlot / 2);
    return Math.min(Math.max(0, Math.floor(bit)), wire.ackSlot - 1);
  }

  #states(nodes: readonly CanController[]): Map<CanController, CanControllerState> {
    return new Map(nodes.map((n) => [n, n.state]));
  }

  /** Emits a state event (and trace record) for every node whose state changed since `before`. */
  #reportStates(before: ReadonlyMap<CanController, CanControllerState>): void {
    const now = this.#sim.now;
    for (const [node, old] of before) {
      const state = node.state;
      if (state === old) continue;
      if (state === 'bus_off') {
        node.counts.busOffCount++;
        if (this.autoRecover) node.recovery = { count: 0, from: now };
      }
      this.#recordState(node);
      node.emitEvent({ kind: 'state', atNs: now, state });
    }
  }

  #recordState(node: CanController): void {
    this.#sim.record(
      this.name,
      'state',
      `${node.name} ${node.state} tec=${node.counters.tec} rec=${node.counters.rec}`,
    );
  }

  // ---- bus-off recovery: 128 occurrences of 11 consecutive recessive bits (ISO 11898-1 §12.1.4.2) ----

  #sequencesSoFar(node: CanController, now: SimTime): number {
    const r = node.recovery!;
    if (this.#recessiveFrom === null) return r.count;
    const from = Math.max(this.#recessiveFrom, r.from);
    const run = now - from;
    return r.count + (run > 0 ? Math.floor(run / (CAN_RECOVERY_SEQUENCE_BITS * this.bitNs) + 1e-9) : 0);
  }

  /** Recovers every bus-off node that has seen its 128 sequences by `now`. */
  #settleRecovery(now: SimTime): void {
    for (const node of this.#nodes) {
      if (node.recovery === null || this.#sequencesSoFar(node, now) < CAN_BUS_OFF_RECOVERY_SEQUENCES)
        continue;
      node.recovery = null;
      node.counters.reset();
      node.eligibleAt = now;
      this.#recordState(node);
      node.emitEvent({ kind: 'state', atNs: now, state: node.state });
    }
  }

  /** A dominant SOF ends the recessive run: bank the complete sequences it held. */
  #endRecessiveRun(now: SimTime): void {
    for (const node of this.#nodes)
      if (node.recovery !== null) node.recovery.count = this.#sequencesSoFar(node, now);
    this.#recessiveFrom = null;
    this.#runGeneration++;
  }

  /** While the bus idles, wake up when a recovering node will have seen its 128th sequence. */
  #scheduleRecoveryChecks(now: SimTime): void {
    const generation = this.#runGeneration;
    for (const node of this.#nodes) {
      if (node.recovery === null || this.#recessiveFrom === null) continue;
      const from = Math.max(this.#recessiveFrom, node.recovery.from);
      const missing = CAN_BUS_OFF_RECOVERY_SEQUENCES - node.recovery.count;
      // Rounded up: a check a fraction of a ns early would see only 127 sequences and never run again.
      const at = Math.max(now, Math.ceil(from + missing * CAN_RECOVERY_SEQUENCE_BITS * this.bitNs));
      this.#sim.scheduler.at(at, () => {
        if (generation !== this.#runGeneration || this.#busy) return;
        this.#settleRecovery(this.#sim.now);
        this.#kick();
      });
    }
  }
}

/** Index of the last dominant bit of the frame before `end` (SOF is always dominant). */
function lastDominantBefore(wire: CanWireFrame, end: number): number {
  for (let i = end - 1; i > 0; i--) if (wire.levels[i] === 0) return i;
  return 0;
}
