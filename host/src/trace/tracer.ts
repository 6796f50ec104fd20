import { ADDRESS_HOST, type BodyOf, FLAG_RESPONSE, messageNameOf } from '@mcubus/protocol';
import type { LinkEvent, OutgoingFrame } from '../link/core.js';
import { type CopyAtGateway, placeLosses } from './attribution.js';
import type { HopEvent, Loss, TraceOutcome, TraceRecord } from './trace-record.js';

/** A finished trace before the store gives it an id. */
export type TraceDraft = Omit<TraceRecord, 'id'>;

export interface TracerConfig {
  /**
   * How long a finished request through a gateway waits for the gateway's log before it is placed
   * with what is known (µs). Default 5 s: a few of the gateway polls.
   */
  readonly settleUs?: number;
  /** How long gateway records are kept for matching (µs). Default 60 s. */
  readonly keepRecordsUs?: number;
}

interface Attempt {
  readonly atUs: number;
}

interface Open {
  readonly dst: number;
  readonly seq: number;
  readonly type: string;
  readonly size: number;
  readonly bus: string;
  readonly gateway: number | null;
  readonly wallMs: number;
  readonly attempts: Attempt[];
}

interface Settling {
  readonly handle: string | number;
  readonly open: Open;
  readonly outcome: TraceOutcome;
  readonly finishedUs: number;
  readonly answered: boolean;
  readonly replayed: boolean;
  duplicateAnswers: number;
  /** Answer copies that came after the request was over (the link layer's stray answers). */
  lateAnswers: number;
  /** The last thing heard of it: the end, or a late answer (host µs). */
  lastUs: number;
  /** Send time of the last TRACE_REQ about it that was answered in full (host µs). */
  fetchedAtUs: number;
  /** The gateway's log no longer reaches back to its first copy. */
  logLost: boolean;
  readonly rttUs?: number;
  readonly rxUs?: number;
  readonly errorCause?: string;
}

interface GatewayCopy extends CopyAtGateway {
  /** Host monotonic µs of `at`, when the gateway's clock is known. */
  readonly hostUs: number | null;
  readonly seenUs: number;
}

interface GatewayState {
  readonly copies: Map<string, GatewayCopy[]>;
}

/** A TRACE_REQ to send: the frames to ask a gateway about, and the traces the answer will settle. */
export interface GatewayQuery {
  readonly gateway: number;
  readonly since: number;
  readonly match: { src: number; dst: number; seq: number }[];
  readonly handles: readonly (string | number)[];
}

/** Traces one TRACE_REQ asks about (two keys each: the request and its answer). */
const TRACES_PER_QUERY = 16;

/**
 * Requests the daemon sends on its own many times a second (time-sync exchanges: up to 10/s per
 * device after a reboot; its questions to gateways): a trace each when they go wrong, a count when
 * they do not — writing hundreds of clean exchanges a second would cost more than it could tell.
 */
const ROUTINE: ReadonlySet<string> = new Set(['time_sync_req', 'trace_req']);

const key = (src: number, dst: number, seq: number, response: boolean) =>
  `${src}:${dst}:${seq}:${response ? 1 : 0}`;

const hex = (a: number) => `0x${a.toString(16).padStart(2, '0')}`;

/**
 * Message lifecycle tracing, sans-IO (docs/observability.md "Tracing"). The daemon tells it what the
 * link layer sent and what came of it, and hands it the forwarding logs it polls from gateways; it
 * returns finished traces, each failure or retry placed on a hop with a cause. Time is passed in
 * (host monotonic µs); nothing here reads a clock.
 */
export class Tracer {
  readonly #settleUs: number;
  readonly #keepUs: number;
  readonly #open = new Map<string | number, Open>();
  readonly #settling = new Map<string | number, Settling>();
  /** Recently finished requests by seq, for duplicate answers that come after the end. */
  readonly #finishedBySeq = new Map<number, Settling>();
  readonly #gateways = new Map<number, GatewayState>();
  /** Quickest request-to-answer time seen below each gateway, per device (gateway clock µs). */
  readonly #quickestBelow = new Map<number, number>();
  #ready: TraceDraft[] = [];
  /** Bulk frames (update chunks) sent: counted, not traced one by one. */
  bulkSent = 0;
  /** Events received from devices: counted, not traced one by one. */
  eventsReceived = 0;
  /** Routine requests (ROUTINE) answered at the first attempt: counted, not traced one by one. */
  routineAnswered = 0;

  constructor(config: TracerConfig = {}) {
    this.#settleUs = config.settleUs ?? 5_000_000;
    this.#keepUs = config.keepRecordsUs ?? 60_000_000;
  }

  /** A frame the link layer handed to a transport; `gateway` is the route's next hop when not dst. */
  sent(
    f: OutgoingFrame,
    route: { bus: string; gateway: number | null },
    nowUs: number,
    wallMs: number,
  ): void {
    const type = messageNameOf(f.bytes[5] ?? 0) ?? `type 0x${(f.bytes[5] ?? 0).toString(16)}`;
    if (f.handle === undefined) {
      if (f.priority === 3) {
        this.bulkSent++;
        return;
      }
      this.#ready.push({
        wallMs,
        bus: route.bus,
        dir: 'out',
        src: ADDRESS_HOST,
        dst: f.dst,
        seq: f.seq,
        type,
        size: f.bytes.length,
        outcome: 'sent',
        attempts: 1,
        losses: [],
        hops: [{ atUs: nowUs, node: 'host', bus: route.bus, event: 'sent', what: 'event' }],
      });
      return;
    }
    const open = this.#open.get(f.handle);
    if (open) {
      open.attempts.push({ atUs: nowUs });
      return;
    }
    this.#open.set(f.handle, {
      dst: f.dst,
      seq: f.seq,
      type,
      size: f.bytes.length,
      bus: route.bus,
      gateway: route.gateway,
      wallMs,
      attempts: [{ atUs: nowUs }],
    });
  }

  /** Every event of the link layer. */
  linkEvent(e: LinkEvent, nowUs: number, wallMs: number): void {
    switch (e.type) {
      case 'answer':
      case 'error_answer':
      case 'timeout':
      case 'cancelled': {
        const open = this.#open.get(e.handle);
        if (!open) return;
        this.#open.delete(e.handle);
        const answered = e.type === 'answer' || e.type === 'error_answer';
        const s: Settling = {
          handle: e.handle,
          open,
          outcome:
            e.type === 'answer'
              ? 'answered'
              : e.type === 'error_answer'
                ? 'error'
                : e.type === 'timeout'
                  ? 'timeout'
                  : 'cancelled',
          finishedUs: nowUs,
          answered,
          replayed: answered && e.header.retransmit,
          duplicateAnswers: 0,
          lateAnswers: 0,
          lastUs: nowUs,
          fetchedAtUs: Number.NEGATIVE_INFINITY,
          logLost: false,
          ...(e.type === 'answer' ? { rttUs: e.rttUs, rxUs: e.rxUs } : {}),
          ...(e.type === 'error_answer'
            ? {
                errorCause: `${e.codeName} from ${e.reporter !== undefined ? hex(e.reporter) : hex(e.from)}`,
                rxUs: nowUs,
              }
            : {}),
        };
        this.#finishedBySeq.set(open.seq, s);
        // Only what went wrong waits for the gateway's word: a clean exchange needs no explaining.
        if (open.gateway !== null && (open.attempts.length > 1 || s.outcome !== 'answered'))
          this.#settling.set(e.handle, s);
        else if (s.outcome === 'answered' && open.attempts.length === 1 && ROUTINE.has(open.type))
          this.routineAnswered++;
        else this.#ready.push(this.#finish(s));
        return;
      }
      case 'duplicate': {
        if (e.kind === 'answer') {
          const s = this.#finishedBySeq.get(e.header.seq);
          if (s && s.open.dst === e.header.src) s.duplicateAnswers++;
        }
        this.#ready.push(this.#incoming(e.header, e.bus, e.rxUs, wallMs, 'duplicate', 0));
        return;
      }
      case 'unsolicited':
        // Routine events (heartbeats, telemetry: hundreds a second on a big board) are counted by
        // the metrics, not traced one by one; what goes wrong with them is (duplicates, bad frames).
        this.eventsReceived++;
        return;
      case 'stray_answer': {
        const s = this.#finishedBySeq.get(e.header.seq);
        if (s && s.open.dst === e.header.src && this.#settling.has(s.handle)) {
          s.lateAnswers++; // part of that request's story, not a trace of its own
          s.lastUs = Math.max(s.lastUs, e.rxUs);
          return;
        }
        this.#ready.push({
          ...this.#incoming(e.header, e.bus, e.rxUs, wallMs, 'duplicate', 0),
          cause: 'an answer to no request the host has open (late, or meant for a restarted host)',
        });
        return;
      }
      case 'bad_frame':
        this.#ready.push({
          wallMs,
          bus: e.bus,
          dir: 'in',
          src: 0xff,
          dst: ADDRESS_HOST,
          seq: 0,
          type: '?',
          size: 0,
          outcome: 'bad_frame',
          attempts: 0,
          hop: e.bus,
          cause: `${e.error.code}: ${e.error.message}`,
          losses: [],
          hops: [{ atUs: e.rxUs, node: 'host', bus: e.bus, event: 'received', what: 'undecodable frame' }],
        });
        return;
      default:
        return;
    }
  }

  #gateway(gateway: number): GatewayState {
    let g = this.#gateways.get(gateway);
    if (!g) {
      g = { copies: new Map() };
      this.#gateways.set(gateway, g);
    }
    return g;
  }

  /** What to ask each gateway about now: traces whose story it has not told since they last changed. */
  queries(): GatewayQuery[] {
    const byGateway = new Map<number, { match: GatewayQuery['match']; handles: (string | number)[] }>();
    for (const [handle, s] of this.#settling) {
      const gw = s.open.gateway;
      if (gw === null || s.fetchedAtUs >= s.lastUs || s.logLost) continue;
      let q = byGateway.get(gw);
      if (!q) {
        q = { match: [], handles: [] };
        byGateway.set(gw, q);
      }
      if (q.handles.length >= TRACES_PER_QUERY) continue;
      q.handles.push(handle);
      q.match.push(
        { src: ADDRESS_HOST, dst: s.open.dst, seq: s.open.seq },
        { src: s.open.dst, dst: ADDRESS_HOST, seq: s.open.seq },
      );
    }
    return [...byGateway].map(([gateway, q]) => ({ gateway, since: 0, ...q }));
  }

  /**
   * A gateway's TRACE_RECORDS answering `query`, sent at `sentUs` (host time). `toHostUs` maps the
   * gateway's clock onto the host's (null while unknown). Returns the index to continue from when
   * the answer was full (the gateway may hold more), else null.
   */
  gatewayRecords(
    query: GatewayQuery,
    body: BodyOf<'trace_records'>,
    sentUs: number,
    nowUs: number,
    toHostUs: (at: number) => number | null,
  ): number | null {
    const g = this.#gateway(query.gateway);
    for (const r of body.records) {
      const copy: GatewayCopy = {
        at: r.at,
        flags: r.flags,
        outcome: r.outcome,
        ...(r.wireAt !== undefined ? { wireAt: r.wireAt } : {}),
        ...(r.outPort !== undefined && body.ports[r.outPort] ? { outPort: body.ports[r.outPort]! } : {}),
        hostUs: toHostUs(r.at),
        seenUs: nowUs,
      };
      const k = key(r.src, r.dst, r.seq, (r.flags & FLAG_RESPONSE) !== 0);
      const list = g.copies.get(k) ?? [];
      // A record comes again when a question is asked again: keep one (its wire time may be newer).
      const same = list.findIndex((c) => c.at === copy.at && c.flags === copy.flags);
      if (same >= 0) list[same] = copy;
      else list.push(copy);
      g.copies.set(k, list);
    }
    const full = body.records.length >= 8 && body.next > query.since;
    const oldestHost = body.oldestAt !== undefined ? toHostUs(body.oldestAt) : null;
    for (const h of query.handles) {
      const s = this.#settling.get(h);
      if (!s) continue;
      const firstUs = s.open.attempts[0]?.atUs ?? s.finishedUs;
      if (oldestHost !== null && oldestHost > firstUs) s.logLost = true;
      if (!full) s.fetchedAtUs = sentUs;
    }
    return full ? body.next : null;
  }

  /** Finishes what can be finished; returns the traces that are complete, oldest first. */
  tick(nowUs: number): TraceDraft[] {
    for (const [handle, s] of this.#settling) {
      const gw = s.open.gateway;
      if (gw !== null) {
        const told = s.fetchedAtUs >= s.lastUs || s.logLost;
        if (!told && nowUs - s.finishedUs < this.#settleUs) continue;
      }
      this.#settling.delete(handle);
      this.#ready.push(this.#finish(s));
    }
    for (const [seq, s] of this.#finishedBySeq)
      if (nowUs - s.finishedUs > this.#settleUs * 2) this.#finishedBySeq.delete(seq);
    for (const g of this.#gateways.values())
      for (const [k, list] of g.copies)
        if (list.every((c) => nowUs - c.seenUs > this.#keepUs)) g.copies.delete(k);
    const out = this.#ready;
    this.#ready = [];
    return out;
  }

  /** Requests still waiting for an answer or for a gateway's log. */
  get pending(): number {
    return this.#open.size + this.#settling.size;
  }

  #finish(s: Settling): TraceDraft {
    const o = s.open;
    const gw = o.gateway;
    const g = gw !== null ? this.#gateways.get(gw) : undefined;
    const firstUs = o.attempts[0]?.atUs ?? s.finishedUs;
    const within = (c: GatewayCopy) =>
      c.hostUs === null || (c.hostUs >= firstUs - 50_000 && c.hostUs <= s.lastUs + 50_000);
    const requestCopies = g?.copies.get(key(ADDRESS_HOST, o.dst, o.seq, false))?.filter(within) ?? [];
    const answerCopies = g?.copies.get(key(o.dst, ADDRESS_HOST, o.seq, true))?.filter(within) ?? [];
    const logOk = g !== undefined && s.fetchedAtUs >= s.lastUs && !s.logLost;
    // A clean exchange (one copy down, one fresh answer up) measures the round trip below the gateway.
    const [only] = requestCopies;
    const [answer] = answerCopies;
    if (
      logOk &&
      requestCopies.length === 1 &&
      answerCopies.length === 1 &&
      only &&
      answer &&
      (answer.flags & 0x02) === 0
    ) {
      const below = answer.at - (only.wireAt ?? only.at);
      if (below > 0) this.#quickestBelow.set(o.dst, Math.min(below, this.#quickestBelow.get(o.dst) ?? below));
    }
    const quickest = this.#quickestBelow.get(o.dst);
    const losses = placeLosses({
      dst: o.dst,
      bus: o.bus,
      gateway: gw,
      attempts: o.attempts.length,
      answered: s.answered,
      replayed: s.replayed,
      duplicateAnswers: s.duplicateAnswers,
      lateAnswers: s.lateAnswers,
      ...(quickest !== undefined ? { promptAnswerUs: 3 * quickest + 2000 } : {}),
      ...(gw !== null ? { gatewayLog: logOk ? 'ok' : 'missing', requestCopies, answerCopies } : {}),
    });
    const hops: HopEvent[] = o.attempts.map((a, i) => ({
      atUs: a.atUs,
      node: 'host' as const,
      bus: o.bus,
      event: 'sent' as const,
      what: `request, attempt ${i + 1}`,
    }));
    if (gw !== null) {
      for (const c of requestCopies) hops.push(gatewayHop(gw, c, 'request'));
      for (const c of answerCopies) hops.push(gatewayHop(gw, c, 'answer'));
    }
    if (s.rxUs !== undefined)
      hops.push({
        atUs: s.rxUs,
        node: 'host',
        bus: o.bus,
        event: 'received',
        what: s.replayed ? 'answer (resent from the device’s cache)' : 'answer',
      });
    hops.sort((a, b) => a.atUs - b.atUs);
    const headline = headlineOf(s, losses);
    return {
      wallMs: o.wallMs,
      bus: o.bus,
      dir: 'out',
      src: ADDRESS_HOST,
      dst: o.dst,
      seq: o.seq,
      type: o.type,
      size: o.size,
      outcome: s.outcome,
      attempts: o.attempts.length,
      ...(s.rttUs !== undefined ? { rttUs: s.rttUs } : {}),
      ...headline,
      losses,
      hops,
    };
  }

  #incoming(
    h: { src: number; dst: number; seq: number; type: number },
    bus: string,
    rxUs: number,
    wallMs: number,
    outcome: TraceOutcome,
    size: number,
  ): TraceDraft {
    return {
      wallMs,
      bus,
      dir: 'in',
      src: h.src,
      dst: h.dst,
      seq: h.seq,
      type: messageNameOf(h.type) ?? `type 0x${h.type.toString(16)}`,
      size,
      outcome,
      attempts: 1,
      ...(outcome === 'duplicate' ? { cause: 'a copy of a frame already received' } : {}),
      losses: [],
      hops: [
        {
          atUs: rxUs,
          node: 'host',
          bus,
          event: 'received',
          what: outcome === 'duplicate' ? 'copy' : 'frame',
        },
      ],
    };
  }
}

function gatewayHop(gw: number, c: GatewayCopy, what: 'request' | 'answer'): HopEvent {
  return {
    atUs: c.hostUs ?? Number.NaN,
    node: gw,
    bus: c.outPort ?? '?',
    event: c.outcome === 0 ? 'forwarded' : 'dropped',
    what: `${what}${(c.flags & 0x02) !== 0 ? ' (copy)' : ''}`,
  };
}

/** The one hop and cause a trace is listed with: the loss that ended it, or the first one retried. */
function headlineOf(s: Settling, losses: readonly Loss[]): { hop?: string; cause?: string } {
  if (s.outcome === 'error' && s.errorCause)
    return { hop: s.open.bus, cause: `answered ERROR ${s.errorCause}` };
  if (s.outcome === 'cancelled')
    return { cause: 'cancelled before an answer came (no route, or the daemon gave up)' };
  const last = losses.at(-1);
  if (!last) return {};
  const arrow = (hop: string, direction: Loss['direction']) => {
    const m = /^(\S+) (.+)–(.+)$/.exec(hop);
    if (!m || direction === 'unknown') return hop.replace(/–/g, '↔');
    return direction === 'request' ? `${m[1]} ${m[2]}→${m[3]}` : `${m[1]} ${m[3]}→${m[2]}`;
  };
  return { hop: arrow(last.hop, last.direction), cause: last.cause };
}
