import {
  type candump,
  decodeFrame,
  type Frame,
  IsoTpNode,
  MESSAGES,
  type MessageName,
  parseCanId,
} from '@mcubus/protocol';

/** One thing the replay found, at the capture's own time (µs since the Unix epoch). */
export type ReplayEvent =
  | {
      readonly kind: 'frame';
      readonly atUs: number;
      readonly iface: string;
      /** ISO-TP addressing: the CAN node that sent it and the one it was for. */
      readonly from: number;
      readonly to: number;
      readonly frame: Frame;
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: 'bad_frame';
      readonly atUs: number;
      readonly iface: string;
      readonly from: number;
      readonly code: string;
      readonly detail: string;
    }
  | {
      readonly kind: 'isotp_error';
      readonly atUs: number;
      readonly iface: string;
      readonly node: number;
      readonly code: string;
      readonly detail: string;
    }
  | { readonly kind: 'foreign'; readonly atUs: number; readonly iface: string; readonly detail: string };

/** Requests seen with what came of them: the post-mortem question "which ones went unanswered?". */
export interface ReplaySummary {
  readonly canFrames: number;
  readonly mcubusFrames: number;
  readonly requests: number;
  readonly answered: number;
  /** Requests no answer was seen for (on this bus). */
  readonly unanswered: readonly {
    readonly atUs: number;
    readonly src: number;
    readonly dst: number;
    readonly seq: number;
    readonly type: string;
    readonly copies: number;
  }[];
  /** Requests seen more than once (RETRANSMIT copies). */
  readonly retransmitted: number;
  readonly errors: Readonly<Record<string, number>>;
}

/**
 * Replays a CAN capture (candump records) through the receive code the live CAN transport runs —
 * one sans-IO IsoTpNode per node address, listening to every transfer on the bus, and the frame
 * decoder — so a post-mortem sees exactly what the daemon would have seen. The nodes' own frames
 * (flow controls) are not sent anywhere: the capture holds the real ones.
 */
export function replayCandump(records: readonly candump.CandumpRecord[]): {
  events: ReplayEvent[];
  summary: ReplaySummary;
} {
  const events: ReplayEvent[] = [];
  const nodes = new Map<string, { node: IsoTpNode; wakeAt?: number }>();
  const errors: Record<string, number> = {};
  const count = (code: string) => {
    errors[code] = (errors[code] ?? 0) + 1;
  };
  const t0 = records[0] ? records[0].seconds * 1e6 + records[0].micros : 0;
  const deliver = (iface: string, address: number, out: ReturnType<IsoTpNode['handle']>, atUs: number) => {
    for (const e of out.emit) {
      if (e.type === 'received') {
        const decoded = decodeFrame(e.payload);
        if (decoded.ok)
          events.push({
            kind: 'frame',
            atUs,
            iface,
            from: e.from,
            to: address,
            frame: decoded.value,
            bytes: e.payload,
          });
        else {
          count(decoded.error.code);
          events.push({
            kind: 'bad_frame',
            atUs,
            iface,
            from: e.from,
            code: decoded.error.code,
            detail: decoded.error.message,
          });
        }
      } else if (e.type === 'rx_error') {
        count(`isotp_${e.error.code}`);
        events.push({
          kind: 'isotp_error',
          atUs,
          iface,
          node: address,
          code: e.error.code,
          detail: e.error.message,
        });
      }
    }
  };
  // Times relative to the first record: the IsoTpNode's timers are µs of a monotonic clock.
  const tickAll = (nowRel: number) => {
    for (const [k, n] of nodes) {
      if (n.wakeAt === undefined || n.wakeAt > nowRel) continue;
      const out = n.node.handle({ type: 'tick' }, nowRel);
      n.wakeAt = out.wakeAt;
      const [iface, address] = k.split('/');
      deliver(iface!, Number(address), out, t0 + nowRel);
    }
  };
  for (const r of records) {
    const atUs = r.seconds * 1e6 + r.micros;
    const rel = atUs - t0;
    tickAll(rel);
    const id = parseCanId(r.frame.id, r.frame.extended);
    if (!id.ok) {
      count('foreign_id');
      events.push({ kind: 'foreign', atUs, iface: r.iface, detail: id.error.message });
      continue;
    }
    // Every node the frame could concern listens: its target (data) — and for flow controls the
    // target is the sender of the transfer, whose node simply counts them.
    const targets = id.value.functional
      ? [
          ...new Set(
            [...nodes.keys()].filter((k) => k.startsWith(`${r.iface}/`)).map((k) => Number(k.split('/')[1])),
          ),
        ]
      : [id.value.target];
    for (const address of targets) {
      const key = `${r.iface}/${address}`;
      let n = nodes.get(key);
      if (!n) {
        n = { node: new IsoTpNode({ address }) };
        nodes.set(key, n);
      }
      const out = n.node.handle({ type: 'frame', frame: r.frame }, rel);
      n.wakeAt = out.wakeAt;
      deliver(r.iface, address, out, atUs);
    }
  }
  const last = records.at(-1);
  if (last) tickAll(last.seconds * 1e6 + last.micros - t0 + 10_000_000);
  return { events, summary: summarize(records.length, events, errors) };
}

function summarize(
  canFrames: number,
  events: readonly ReplayEvent[],
  errors: Record<string, number>,
): ReplaySummary {
  const frames = events.filter((e): e is Extract<ReplayEvent, { kind: 'frame' }> => e.kind === 'frame');
  const open = new Map<
    string,
    { atUs: number; src: number; dst: number; seq: number; type: string; copies: number; answered: boolean }
  >();
  let requests = 0;
  let retransmitted = 0;
  for (const f of frames) {
    const h = f.frame.header;
    const type = f.frame.message.type;
    if (!h.response) {
      const expects = type !== 'unknown' ? MESSAGES[type as MessageName].expects.length > 0 : false;
      if (!expects || h.dst === 0xff) continue;
      const k = `${h.src}:${h.dst}:${h.seq}`;
      const o = open.get(k);
      if (o) {
        o.copies++;
        if (o.copies === 2) retransmitted++;
      } else {
        requests++;
        open.set(k, { atUs: f.atUs, src: h.src, dst: h.dst, seq: h.seq, type, copies: 1, answered: false });
      }
    } else {
      const o = open.get(`${h.dst}:${h.src}:${h.seq}`);
      if (o) o.answered = true;
    }
  }
  const all = [...open.values()];
  return {
    canFrames,
    mcubusFrames: frames.length,
    requests,
    answered: all.filter((o) => o.answered).length,
    unanswered: all.filter((o) => !o.answered).map(({ answered: _a, ...rest }) => rest),
    retransmitted,
    errors,
  };
}
