/**
 * The link layer core of mcubusd, sans-IO: requests out, frames in, answers/timeouts/events out.
 *
 * No timers, no clock, no randomness of its own: every call passes the current time (µs) and the
 * caller sleeps until `wakeAt`. Jitter comes from the injected `random`, so a simulator can seed it.
 *
 * Sequence numbers: ONE global u16 counter for everything the host originates (docs/protocol.md §5
 * "every node keeps one u16 counter"), wrapping 0xFFFF → 0x0000. Because it is global, a pending
 * request is identified by its seq alone, which is what lets an ERROR from a gateway on the path
 * (src = the gateway, `reporter` = the gateway) complete the right request.
 */
import {
  ADDRESS_BROADCAST,
  ADDRESS_HOST,
  CauseCounters,
  DEFAULT_TTL,
  type DecodedMessage,
  decodeFrame,
  ErrorCode,
  encodeFrame,
  enumName,
  type FrameDecodeError,
  type FrameHeader,
  MAX_FRAME_SIZE,
  MESSAGES,
  type Message,
  PRIORITY_NORMAL,
  type Priority,
} from '@mcubus/protocol';
import { RttEstimator, type RttStats } from './rtt.js';

export type RequestHandle = string | number;

export interface LinkCoreConfig {
  /** Uniform [0, 1) source for backoff jitter. Required: inject a seeded one in simulations. */
  readonly random: () => number;
  /** This node's address (default 0x00, the host). Used as src and to accept answers. */
  readonly address?: number;
  /** Attempts per request including the first (default 4). */
  readonly maxAttempts?: number;
  /** RTO before any RTT sample for a destination (default 1000 ms). */
  readonly rtoInitialMs?: number;
  /** RTO clamp (defaults 20 ms … 5000 ms). */
  readonly rtoMinMs?: number;
  readonly rtoMaxMs?: number;
  /** Cap of one attempt's backed-off timeout (default 10 000 ms; never below the base timeout). */
  readonly maxBackoffMs?: number;
  /** Each attempt's timeout is multiplied by 1 + jitter·random() (default 0.1). */
  readonly jitter?: number;
  /** Window in which an event frame with the same src+seq+type is a duplicate (default 2000 ms). */
  readonly dedupWindowMs?: number;
  /** How long a completed request is remembered to recognise duplicate answers (default 30 000 ms). */
  readonly answerWindowMs?: number;
  /** First seq handed out (default 0). */
  readonly initialSeq?: number;
  /** TTL of originated frames (default 8). */
  readonly ttl?: number;
  /** Largest frame accepted on receipt (default 4096). */
  readonly maxFrame?: number;
}

export type LinkInput =
  | {
      readonly type: 'request';
      readonly handle: RequestHandle;
      readonly dst: number;
      readonly message: Message;
      readonly priority?: Priority;
      readonly timeoutMs?: number;
      readonly maxAttempts?: number;
    }
  /** Fire-and-forget frame (an event such as UPDATE_CHUNK): gets a seq, sent once, never answered. */
  | { readonly type: 'event'; readonly dst: number; readonly message: Message; readonly priority?: Priority }
  | { readonly type: 'frame'; readonly bytes: Uint8Array; readonly bus: string; readonly rxUs: number }
  | { readonly type: 'cancel'; readonly handle: RequestHandle }
  | { readonly type: 'tick' };

export interface OutgoingFrame {
  readonly dst: number;
  readonly bytes: Uint8Array;
  readonly priority: Priority;
  /** 1 for the first transmission; > 1 for retransmissions (RETRANSMIT flag set, same seq). */
  readonly attempt: number;
  readonly seq: number;
  /** The request this frame belongs to (absent for events). */
  readonly handle?: RequestHandle;
}

export type RejectReason = 'duplicate_handle' | 'not_a_request' | 'bad_destination' | 'encode_failed';

export type LinkEvent =
  | {
      readonly type: 'answer';
      readonly handle: RequestHandle;
      readonly dst: number;
      readonly header: FrameHeader;
      readonly message: DecodedMessage;
      /** From the last transmission to receipt (ambiguous when attempts > 1: Karn's rule). */
      readonly rttUs: number;
      readonly attempts: number;
      readonly bus: string;
      /** Host clock (µs) when the answer started arriving (the transport's stamp). */
      readonly rxUs: number;
    }
  | {
      readonly type: 'timeout';
      readonly handle: RequestHandle;
      readonly dst: number;
      readonly attempts: number;
    }
  | {
      readonly type: 'error_answer';
      readonly handle: RequestHandle;
      readonly dst: number;
      /** ErrorCode number and its name ("unknown(N)" for codes this version does not know). */
      readonly code: number;
      readonly codeName: string;
      /** The node that raised it, when the ERROR says so (a gateway on the path). */
      readonly reporter?: number;
      /** The frame's src: the destination itself, or a gateway. */
      readonly from: number;
      readonly header: FrameHeader;
      readonly message: DecodedMessage;
      readonly attempts: number;
      readonly bus: string;
    }
  | {
      readonly type: 'unsolicited';
      readonly header: FrameHeader;
      readonly message: DecodedMessage;
      readonly bus: string;
      readonly rxUs: number;
    }
  | {
      readonly type: 'stray_answer';
      readonly header: FrameHeader;
      readonly message: DecodedMessage;
      readonly bus: string;
      readonly rxUs: number;
    }
  | {
      readonly type: 'duplicate';
      /** 'answer': an answer to a request already completed; 'event': a repeated event frame. */
      readonly kind: 'answer' | 'event';
      readonly header: FrameHeader;
      readonly bus: string;
      readonly rxUs: number;
      readonly handle?: RequestHandle;
    }
  | {
      readonly type: 'bad_frame';
      readonly error: FrameDecodeError;
      readonly bus: string;
      readonly rxUs: number;
    }
  | {
      readonly type: 'cancelled';
      readonly handle: RequestHandle;
      readonly dst: number;
      readonly attempts: number;
    }
  | {
      readonly type: 'rejected';
      readonly handle?: RequestHandle;
      readonly reason: RejectReason;
      readonly detail: string;
    };

export interface LinkOutput {
  readonly send: OutgoingFrame[];
  /** When to call again with a tick (µs), if anything is pending. */
  readonly wakeAt?: number;
  readonly emit: LinkEvent[];
}

export interface LinkCounters {
  readonly total: Record<string, number>;
  readonly byBus: Record<string, Record<string, number>>;
  /** Keyed by destination address in decimal. */
  readonly byDst: Record<string, Record<string, number>>;
}

/**
 * Counter names: sent, retried, requests, events_sent, answers, error_answers, timeouts, cancelled,
 * received, bad_frames plus one per cause (truncated, oversize, unknown_version, bad_crc, bad_cbor,
 * schema), unsolicited, duplicate_event, duplicate_answer, late_or_unknown_answer, not_for_us, rejected.
 */
export type LinkCounterName = string;

interface Pending {
  readonly handle: RequestHandle;
  readonly dst: number;
  readonly seq: number;
  readonly message: Message;
  readonly priority: Priority;
  readonly expects: ReadonlySet<string>;
  readonly maxAttempts: number;
  /** Timeout of the first attempt; later attempts back off from it. */
  readonly baseUs: number;
  attempts: number;
  lastSentUs: number;
  deadlineUs: number;
}

interface Completed {
  readonly handle: RequestHandle;
  readonly dst: number;
  readonly atUs: number;
}

const MAX_COMPLETED = 1024;
const MAX_DEDUP = 4096;

export class LinkCore {
  readonly #random: () => number;
  readonly #address: number;
  readonly #maxAttempts: number;
  readonly #rtoInitialUs: number;
  readonly #rtoMinUs: number;
  readonly #rtoMaxUs: number;
  readonly #maxBackoffUs: number;
  readonly #jitter: number;
  readonly #dedupWindowUs: number;
  readonly #answerWindowUs: number;
  readonly #ttl: number;
  readonly #maxFrame: number;

  #seq: number;
  readonly #pending = new Map<number, Pending>(); // by seq
  readonly #byHandle = new Map<RequestHandle, Pending>();
  readonly #completed = new Map<number, Completed>(); // by seq, insertion = completion order
  readonly #seenEvents = new Map<string, number>(); // "src:seq:type:crc" → first seen (µs)
  readonly #rtt = new Map<number, RttEstimator>();
  readonly #total = new CauseCounters();
  readonly #byBus = new Map<string, CauseCounters>();
  readonly #byDst = new Map<number, CauseCounters>();

  constructor(config: LinkCoreConfig) {
    this.#random = config.random;
    this.#address = config.address ?? ADDRESS_HOST;
    this.#maxAttempts = Math.max(1, config.maxAttempts ?? 4);
    this.#rtoInitialUs = (config.rtoInitialMs ?? 1000) * 1000;
    this.#rtoMinUs = (config.rtoMinMs ?? 20) * 1000;
    this.#rtoMaxUs = (config.rtoMaxMs ?? 5000) * 1000;
    this.#maxBackoffUs = (config.maxBackoffMs ?? 10_000) * 1000;
    this.#jitter = config.jitter ?? 0.1;
    this.#dedupWindowUs = (config.dedupWindowMs ?? 2000) * 1000;
    this.#answerWindowUs = (config.answerWindowMs ?? 30_000) * 1000;
    this.#ttl = config.ttl ?? DEFAULT_TTL;
    this.#maxFrame = config.maxFrame ?? MAX_FRAME_SIZE;
    this.#seq = (config.initialSeq ?? 0) & 0xffff;
  }

  handle(input: LinkInput, nowUs: number): LinkOutput {
    const send: OutgoingFrame[] = [];
    const emit: LinkEvent[] = [];
    switch (input.type) {
      case 'request':
        this.#expire(nowUs, send, emit);
        this.#request(input, nowUs, send, emit);
        break;
      case 'event':
        this.#expire(nowUs, send, emit);
        this.#event(input, send, emit);
        break;
      case 'frame':
        // The frame first: an answer that arrived before its deadline wins over a late tick.
        this.#frame(input.bytes, input.bus, input.rxUs, nowUs, emit);
        this.#expire(nowUs, send, emit);
        break;
      case 'cancel':
        this.#cancel(input.handle, emit);
        this.#expire(nowUs, send, emit);
        break;
      case 'tick':
        this.#expire(nowUs, send, emit);
        break;
    }
    const wakeAt = this.nextWake();
    return wakeAt === undefined ? { send, emit } : { send, wakeAt, emit };
  }

  /** Earliest deadline of a pending request (µs), or undefined when nothing is pending. */
  nextWake(): number | undefined {
    let min: number | undefined;
    for (const p of this.#pending.values()) if (min === undefined || p.deadlineUs < min) min = p.deadlineUs;
    return min;
  }

  rttStats(dst: number): RttStats {
    return this.#estimator(dst).stats();
  }

  /** Number of requests waiting for an answer. */
  pendingCount(): number {
    return this.#pending.size;
  }

  /** The seq the next originated frame will get (skipping seqs still in use). */
  peekSeq(): number {
    return this.#seq;
  }

  counters(): LinkCounters {
    const byBus: Record<string, Record<string, number>> = {};
    for (const bus of [...this.#byBus.keys()].sort()) byBus[bus] = this.#byBus.get(bus)?.snapshot() ?? {};
    const byDst: Record<string, Record<string, number>> = {};
    for (const dst of [...this.#byDst.keys()].sort((a, b) => a - b)) {
      byDst[String(dst)] = this.#byDst.get(dst)?.snapshot() ?? {};
    }
    return { total: this.#total.snapshot(), byBus, byDst };
  }

  // ── inputs ──────────────────────────────────────────────────────────────────────────────────────

  #request(
    input: Extract<LinkInput, { type: 'request' }>,
    nowUs: number,
    send: OutgoingFrame[],
    emit: LinkEvent[],
  ): void {
    const { handle, dst, message } = input;
    const reject = (reason: RejectReason, detail: string): void => {
      this.#count('rejected');
      emit.push({ type: 'rejected', handle, reason, detail });
    };
    if (this.#byHandle.has(handle)) {
      reject('duplicate_handle', `handle ${String(handle)} is pending`);
      return;
    }
    if (!Number.isInteger(dst) || dst < 0 || dst >= ADDRESS_BROADCAST || dst === this.#address) {
      reject('bad_destination', `requests need a unicast destination, not ${dst}`);
      return;
    }
    const expects: readonly string[] = MESSAGES[message.type].expects;
    if (expects.length === 0) {
      reject('not_a_request', `${message.type} is not answered; send it as an event`);
      return;
    }

    const seq = this.#allocSeq();
    const priority = input.priority ?? PRIORITY_NORMAL;
    const baseUs =
      input.timeoutMs !== undefined && input.timeoutMs > 0
        ? input.timeoutMs * 1000
        : this.#estimator(dst).rtoUs();
    const p: Pending = {
      handle,
      dst,
      seq,
      message,
      priority,
      expects: new Set([...expects, 'error']),
      maxAttempts: Math.max(1, input.maxAttempts ?? this.#maxAttempts),
      baseUs,
      attempts: 0,
      lastSentUs: nowUs,
      deadlineUs: nowUs,
    };
    let bytes: Uint8Array;
    try {
      bytes = this.#encode(p, false);
    } catch (e) {
      reject('encode_failed', e instanceof Error ? e.message : String(e));
      return;
    }
    this.#pending.set(seq, p);
    this.#byHandle.set(handle, p);
    this.#completed.delete(seq);
    this.#count('requests', undefined, dst);
    this.#transmit(p, bytes, nowUs, send);
  }

  #event(input: Extract<LinkInput, { type: 'event' }>, send: OutgoingFrame[], emit: LinkEvent[]): void {
    const { dst, message } = input;
    const priority = input.priority ?? PRIORITY_NORMAL;
    const seq = this.#allocSeq();
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame({ dst, src: this.#address, seq, ttl: this.#ttl, priority }, message);
    } catch (e) {
      this.#count('rejected');
      emit.push({
        type: 'rejected',
        reason: 'encode_failed',
        detail: e instanceof Error ? e.message : String(e),
      });
      return;
    }
    this.#count('sent', undefined, dst);
    this.#count('events_sent', undefined, dst);
    send.push({ dst, bytes, priority, attempt: 1, seq });
  }

  #cancel(handle: RequestHandle, emit: LinkEvent[]): void {
    const p = this.#byHandle.get(handle);
    if (p === undefined) return;
    this.#remove(p);
    this.#count('cancelled', undefined, p.dst);
    emit.push({ type: 'cancelled', handle, dst: p.dst, attempts: p.attempts });
  }

  #frame(bytes: Uint8Array, bus: string, rxUs: number, nowUs: number, emit: LinkEvent[]): void {
    this.#count('received', bus);
    const decoded = decodeFrame(bytes, this.#maxFrame);
    if (!decoded.ok) {
      this.#count('bad_frames', bus);
      this.#count(decoded.error.code, bus);
      emit.push({ type: 'bad_frame', error: decoded.error, bus, rxUs });
      return;
    }
    const { header, message } = decoded.value;
    if (header.dst !== this.#address && header.dst !== ADDRESS_BROADCAST) {
      this.#count('not_for_us', bus);
      return;
    }
    if (header.response) this.#answer(header, message, bus, rxUs, nowUs, emit);
    else this.#incomingEvent(header, message, crcOf(bytes), bus, rxUs, nowUs, emit);
  }

  #answer(
    header: FrameHeader,
    message: DecodedMessage,
    bus: string,
    rxUs: number,
    nowUs: number,
    emit: LinkEvent[],
  ): void {
    const p = this.#pending.get(header.seq);
    if (p !== undefined && this.#matches(p, header, message)) {
      this.#remove(p);
      this.#remember(p, nowUs);
      // Karn's rule: an answer to a retransmitted request says nothing about which attempt it answers.
      const rttUs = rxUs - p.lastSentUs;
      if (p.attempts === 1 && header.src === p.dst) this.#estimator(p.dst).sample(rttUs);
      if (message.type === 'error') {
        this.#count('error_answers', bus, p.dst);
        const body = message.body;
        emit.push({
          type: 'error_answer',
          handle: p.handle,
          dst: p.dst,
          code: body.code,
          codeName: enumName(ErrorCode, body.code),
          ...(body.reporter === undefined ? {} : { reporter: body.reporter }),
          from: header.src,
          header,
          message,
          attempts: p.attempts,
          bus,
        });
      } else {
        this.#count('answers', bus, p.dst);
        emit.push({
          type: 'answer',
          handle: p.handle,
          dst: p.dst,
          header,
          message,
          rttUs,
          attempts: p.attempts,
          bus,
          rxUs,
        });
      }
      return;
    }
    this.#pruneCompleted(nowUs);
    const done = this.#completed.get(header.seq);
    if (done !== undefined && (header.src === done.dst || message.type === 'error')) {
      this.#count('duplicate_answer', bus, done.dst);
      emit.push({ type: 'duplicate', kind: 'answer', header, bus, rxUs, handle: done.handle });
      return;
    }
    this.#count('late_or_unknown_answer', bus);
    emit.push({ type: 'stray_answer', header, message, bus, rxUs });
  }

  #matches(p: Pending, header: FrameHeader, message: DecodedMessage): boolean {
    if (!p.expects.has(message.type)) return false;
    if (header.src === p.dst) return true;
    // A gateway on the path answers routing errors itself: src = the gateway = reporter.
    return message.type === 'error' && message.body.reporter === header.src;
  }

  #incomingEvent(
    header: FrameHeader,
    message: DecodedMessage,
    crc: number,
    bus: string,
    rxUs: number,
    nowUs: number,
    emit: LinkEvent[],
  ): void {
    this.#pruneSeen(nowUs);
    // The CRC too: a device that rebooted counts its seq from the start again, and its new HELLO
    // (other uptime, other reset count) must not pass for a copy of the one before the reboot.
    const key = `${header.src}:${header.seq}:${header.type}:${crc}`;
    if (this.#seenEvents.has(key)) {
      this.#count('duplicate_event', bus);
      emit.push({ type: 'duplicate', kind: 'event', header, bus, rxUs });
      return;
    }
    this.#seenEvents.set(key, nowUs);
    if (this.#seenEvents.size > MAX_DEDUP) {
      const oldest = this.#seenEvents.keys().next();
      if (!oldest.done) this.#seenEvents.delete(oldest.value);
    }
    this.#count('unsolicited', bus);
    emit.push({ type: 'unsolicited', header, message, bus, rxUs });
  }

  // ── timers ──────────────────────────────────────────────────────────────────────────────────────

  #expire(nowUs: number, send: OutgoingFrame[], emit: LinkEvent[]): void {
    const due = [...this.#pending.values()]
      .filter((p) => p.deadlineUs <= nowUs)
      .sort((a, b) => a.deadlineUs - b.deadlineUs);
    for (const p of due) {
      if (p.attempts >= p.maxAttempts) {
        this.#remove(p);
        this.#count('timeouts', undefined, p.dst);
        emit.push({ type: 'timeout', handle: p.handle, dst: p.dst, attempts: p.attempts });
        continue;
      }
      this.#count('retried', undefined, p.dst);
      this.#transmit(p, this.#encode(p, true), nowUs, send);
    }
  }

  /**
   * Timeout of attempt k (1-based): min(base·2^(k−1), max(base, maxBackoff)) · (1 + jitter·random()),
   * where base is the request's timeoutMs or the destination's RTO when the request was made.
   */
  #attemptTimeoutUs(p: Pending, attempt: number): number {
    const cap = Math.max(p.baseUs, this.#maxBackoffUs);
    const backedOff = Math.min(p.baseUs * 2 ** (attempt - 1), cap);
    return Math.round(backedOff * (1 + this.#jitter * this.#random()));
  }

  // ── helpers ─────────────────────────────────────────────────────────────────────────────────────

  #transmit(p: Pending, bytes: Uint8Array, nowUs: number, send: OutgoingFrame[]): void {
    p.attempts++;
    p.lastSentUs = nowUs;
    p.deadlineUs = nowUs + this.#attemptTimeoutUs(p, p.attempts);
    this.#count('sent', undefined, p.dst);
    send.push({ dst: p.dst, bytes, priority: p.priority, attempt: p.attempts, seq: p.seq, handle: p.handle });
  }

  #encode(p: Pending, retransmit: boolean): Uint8Array {
    return encodeFrame(
      { dst: p.dst, src: this.#address, seq: p.seq, ttl: this.#ttl, priority: p.priority, retransmit },
      p.message,
    );
  }

  #allocSeq(): number {
    // Skip seqs still held by a pending request (only possible with 65 536 outstanding requests).
    for (let i = 0; i < 0x10000 && this.#pending.has(this.#seq); i++) this.#seq = (this.#seq + 1) & 0xffff;
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) & 0xffff;
    return seq;
  }

  #remove(p: Pending): void {
    this.#pending.delete(p.seq);
    this.#byHandle.delete(p.handle);
  }

  #remember(p: Pending, nowUs: number): void {
    this.#completed.delete(p.seq);
    this.#completed.set(p.seq, { handle: p.handle, dst: p.dst, atUs: nowUs });
    if (this.#completed.size > MAX_COMPLETED) {
      const oldest = this.#completed.keys().next();
      if (!oldest.done) this.#completed.delete(oldest.value);
    }
  }

  #pruneCompleted(nowUs: number): void {
    for (const [seq, c] of this.#completed) {
      if (nowUs - c.atUs < this.#answerWindowUs) break;
      this.#completed.delete(seq);
    }
  }

  #pruneSeen(nowUs: number): void {
    for (const [key, at] of this.#seenEvents) {
      if (nowUs - at < this.#dedupWindowUs) break;
      this.#seenEvents.delete(key);
    }
  }

  #estimator(dst: number): RttEstimator {
    let e = this.#rtt.get(dst);
    if (e === undefined) {
      e = new RttEstimator({ initialUs: this.#rtoInitialUs, minUs: this.#rtoMinUs, maxUs: this.#rtoMaxUs });
      this.#rtt.set(dst, e);
    }
    return e;
  }

  #count(cause: LinkCounterName, bus?: string, dst?: number): void {
    this.#total.add(cause);
    if (bus !== undefined) {
      let c = this.#byBus.get(bus);
      if (c === undefined) {
        c = new CauseCounters();
        this.#byBus.set(bus, c);
      }
      c.add(cause);
    }
    if (dst !== undefined) {
      let c = this.#byDst.get(dst);
      if (c === undefined) {
        c = new CauseCounters();
        this.#byDst.set(dst, c);
      }
      c.add(cause);
    }
  }
}

/** The frame's CRC field (its last four bytes): what tells two frames with one src/seq/type apart. */
function crcOf(frame: Uint8Array): number {
  const n = frame.length;
  return (frame[n - 4]! | (frame[n - 3]! << 8) | (frame[n - 2]! << 16) | (frame[n - 1]! << 24)) >>> 0;
}
