import { CauseCounters } from '../counters.js';
import { codedError } from '../result.js';
import type { CanFrame } from './can-frame.js';
import { BROADCAST_ADDRESS, canIdFor, canPriorityFor, type FramePriority, parseCanId } from './can-id.js';
import { type IsoTpConfig, type ResolvedIsoTpConfig, resolveConfig } from './config.js';
import type { IsoTpCounterCode, TxErrorCode } from './errors.js';
import type { IsoTpEmit, IsoTpInput, IsoTpOutput } from './events.js';
import { type Link, makeFrame, type Outbox } from './link.js';
import { decodePci, encodeSingleFrame, singleFrameCapacity } from './pci.js';
import { Reception, sendFlowControl } from './reception.js';
import { Transmission } from './transmission.js';

type TransmitInput = Extract<IsoTpInput, { type: 'transmit' }>;

/** One transfer runs per CAN id and direction; the key is the peer and the 3-bit CAN priority. */
function transferKey(canPriority: number, peer: number): number {
  return (canPriority << 8) | peer;
}

/**
 * ISO 15765-2 transport for one mcubus node address on one CAN bus, as a sans-IO state machine.
 * Feed it transmits, every bus frame and ticks; it returns frames to send, the next wake-up time and
 * events. Transfers on different CAN ids (peer × priority) run in parallel; transmits on one id queue.
 */
export class IsoTpNode {
  readonly config: ResolvedIsoTpConfig;
  /** Every ignored frame, abandoned reception and failed transmission, by cause. */
  readonly counters = new CauseCounters<IsoTpCounterCode>();

  readonly #link: Link;
  readonly #tx = new Map<number, Transmission>();
  readonly #queued = new Map<number, { request: TransmitInput; id: number }[]>();
  readonly #rx = new Map<number, Reception>();

  constructor(config: IsoTpConfig) {
    this.config = resolveConfig(config);
    this.#link = { config: this.config, counters: this.counters };
  }

  handle(event: IsoTpInput, now: number): IsoTpOutput {
    const out: Outbox = { send: [], emit: [] };
    // Timers first, whatever the event: a late FC does not rescue a transfer whose N_Bs expired.
    this.#service(now, out);
    switch (event.type) {
      case 'transmit':
        this.#onTransmit(event, now, out);
        break;
      case 'frame':
        this.#onFrame(event.frame, now, out);
        break;
      case 'tick':
        break;
    }
    const wakeAt = this.nextWake();
    return wakeAt === undefined
      ? { send: out.send, emit: out.emit }
      : { send: out.send, wakeAt, emit: out.emit };
  }

  /** Earliest time (µs) at which a tick is due, or undefined when no transfer is in progress. */
  nextWake(): number | undefined {
    let earliest: number | undefined;
    for (const tx of this.#tx.values()) {
      const at = tx.wake();
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    for (const rx of this.#rx.values()) {
      if (earliest === undefined || rx.deadline < earliest) earliest = rx.deadline;
    }
    return earliest;
  }

  /** Transfers in progress and transmits waiting behind them. */
  pending(): { readonly transmitting: number; readonly queued: number; readonly receiving: number } {
    let queued = 0;
    for (const q of this.#queued.values()) queued += q.length;
    return { transmitting: this.#tx.size, queued, receiving: this.#rx.size };
  }

  #service(now: number, out: Outbox): void {
    for (const [key, tx] of [...this.#tx]) {
      tx.service(now, out);
      if (tx.state === 'done') this.#finishTx(key, now, out);
    }
    for (const [key, rx] of [...this.#rx]) {
      if (rx.service(now, out)) this.#rx.delete(key);
    }
  }

  #reject(request: TransmitInput, code: TxErrorCode, message: string, out: Outbox): void {
    this.counters.add(code);
    out.emit.push({
      type: 'failed',
      handle: request.handle,
      to: request.to,
      error: codedError(code, message),
    });
  }

  #onTransmit(request: TransmitInput, now: number, out: Outbox): void {
    const { address, frameSize, fd } = this.config;
    const { to, payload, priority } = request;
    const functional = request.functional === true || to === BROADCAST_ADDRESS;
    if (
      !Number.isInteger(to) ||
      to < 0 ||
      to > 0xff ||
      to === address ||
      (functional && to !== BROADCAST_ADDRESS)
    ) {
      this.#reject(request, 'invalid_address', `cannot send from ${address} to ${to}`, out);
      return;
    }
    if (!([0, 1, 2, 3] as unknown[]).includes(priority)) {
      this.#reject(request, 'invalid_priority', `priority must be 0..3, not ${String(priority)}`, out);
      return;
    }
    if (payload.length === 0) {
      this.#reject(request, 'empty_payload', 'ISO-TP cannot carry an empty message', out);
      return;
    }
    if (functional) {
      if (payload.length > singleFrameCapacity(frameSize)) {
        this.#reject(
          request,
          'too_large_for_functional',
          `${payload.length} bytes exceed the ${singleFrameCapacity(frameSize)} a broadcast single frame carries`,
          out,
        );
        return;
      }
      // A single frame completes at once, so broadcasts never queue.
      const id = canIdFor({ priority, target: BROADCAST_ADDRESS, source: address, functional: true });
      out.send.push(makeFrame(this.#link, id, encodeSingleFrame(payload, frameSize), fd));
      out.emit.push({ type: 'transmitted', handle: request.handle, to });
      return;
    }
    const key = transferKey(canPriorityFor(priority), to);
    const queue = this.#queued.get(key) ?? [];
    queue.push({ request, id: canIdFor({ priority, target: to, source: address }) });
    this.#queued.set(key, queue);
    if (!this.#tx.has(key)) this.#startNext(key, now, out);
  }

  /** Starts queued transmits on `key` until one stays in flight (single frames finish at once). */
  #startNext(key: number, now: number, out: Outbox): void {
    const queue = this.#queued.get(key);
    while (queue !== undefined && queue.length > 0) {
      const next = queue.shift()!;
      const tx = new Transmission(this.#link, {
        handle: next.request.handle,
        to: next.request.to,
        id: next.id,
        payload: next.request.payload,
      });
      tx.start(now, out);
      if (tx.state !== 'done') {
        this.#tx.set(key, tx);
        break;
      }
    }
    if (queue !== undefined && queue.length === 0) this.#queued.delete(key);
  }

  #finishTx(key: number, now: number, out: Outbox): void {
    this.#tx.delete(key);
    this.#startNext(key, now, out);
  }

  #onFrame(frame: CanFrame, now: number, out: Outbox): void {
    const { address, fd: fdEnabled } = this.config;
    const parsed = parseCanId(frame.id, frame.extended);
    if (!parsed.ok) {
      this.counters.add(parsed.error.code);
      return;
    }
    if (frame.fd && !fdEnabled) {
      this.counters.add('fd_disabled');
      return;
    }
    const { source, target, functional, canPriority, priority } = parsed.value;
    // source === address: our own frame echoed back, or an address clash; either way not for us.
    if (source === address || target !== (functional ? BROADCAST_ADDRESS : address)) {
      this.counters.add('not_for_us');
      return;
    }
    const key = transferKey(canPriority, source);
    const decoded = decodePci(frame.data, frame.fd);
    if (!decoded.ok) {
      const tx = this.#tx.get(key);
      // A reserved flow status in answer to our FF/block aborts the transmission (ISO N_INVALID_FS).
      if (decoded.error.code === 'reserved_flow_status' && !functional && tx?.awaitingFlowControl) {
        tx.fail('reserved_flow_status', decoded.error.message, out);
        this.#finishTx(key, now, out);
        return;
      }
      this.counters.add(decoded.error.code);
      return;
    }
    const pci = decoded.value;
    if (functional) {
      if (pci.type !== 'single') {
        this.counters.add('functional_not_single');
      } else if (this.#acceptable(source, pci.length, out)) {
        out.emit.push(received(source, priority, pci.data, true));
      }
      return;
    }
    switch (pci.type) {
      case 'single':
        this.#interrupt(key, out);
        if (this.#acceptable(source, pci.length, out))
          out.emit.push(received(source, priority, pci.data, false));
        return;
      case 'first': {
        this.#interrupt(key, out);
        if (!this.#acceptable(source, pci.length, out)) {
          sendFlowControl(this.#link, out, { to: source, canPriority, fd: frame.fd }, 'overflow');
          return;
        }
        const rx = new Reception(
          this.#link,
          { from: source, canPriority, fd: frame.fd, frameLength: frame.data.length, first: pci },
          now,
          out,
        );
        this.#rx.set(key, rx);
        return;
      }
      case 'consecutive': {
        const rx = this.#rx.get(key);
        if (rx === undefined) {
          this.counters.add('unexpected_cf');
          return;
        }
        if (rx.onConsecutive(pci, frame.data.length, now, out)) this.#rx.delete(key);
        return;
      }
      case 'flow': {
        const tx = this.#tx.get(key);
        if (tx === undefined) {
          this.counters.add('unexpected_fc');
          return;
        }
        tx.onFlowControl(pci, now, out);
        if (tx.state === 'done') this.#finishTx(key, now, out);
        return;
      }
    }
  }

  /** Checks a message length against maxMessageSize; reports and counts a refusal. */
  #acceptable(from: number, length: number, out: Outbox): boolean {
    const { maxMessageSize } = this.config;
    if (length <= maxMessageSize) return true;
    this.counters.add('message_too_large');
    out.emit.push({
      type: 'rx_error',
      from,
      error: codedError(
        'message_too_large',
        `message of ${length} bytes exceeds maxMessageSize ${maxMessageSize}`,
      ),
    });
    return false;
  }

  /** A new SF or FF on an id abandons the reception in progress there (ISO 15765-2). */
  #interrupt(key: number, out: Outbox): void {
    const rx = this.#rx.get(key);
    if (rx === undefined) return;
    this.#rx.delete(key);
    rx.abort('interrupted', 'a new message started before this one completed', out);
  }
}

function received(from: number, priority: FramePriority, data: Uint8Array, functional: boolean): IsoTpEmit {
  // Copy: the frame buffer belongs to the driver and may be reused.
  return { type: 'received', from, priority, payload: data.slice(), functional };
}
