import { ADDRESS_HOST, decodeMessageBody, MESSAGES, RouteState } from '@mcubus/protocol';
import { NS_PER_MS, type SimTime } from '../kernel/scheduler.js';
import type { Mcu } from './mcu.js';

export interface GatewayOptions {
  /** Downstream nodes per port (configured routes; the gateway also learns from their HELLOs). */
  readonly downstream: {
    readonly port: string;
    readonly portIndex: number;
    readonly nodes: readonly number[];
  }[];
  /** How often the gateway exchanges time with each downstream node. Default 1000 ms. */
  readonly timeSyncPeriodMs?: number;
  /** How often it reports each node's clock mapping to the host (TIME_MAP). Default 5000 ms. */
  readonly timeMapPeriodMs?: number;
}

interface Sample {
  /** Gateway clock (µs, unwrapped) at the midpoint of the exchange. */
  readonly at: number;
  /** node − gateway (µs). */
  readonly offset: number;
  readonly rtt: number;
}

const WINDOW = 16;

/**
 * The gateway role: answers TOPOLOGY_REQ, and acts as time master for its downstream bus — it runs the
 * two-way exchange with each downstream node using its own clock and reports the fitted mapping to the
 * host as TIME_MAP, so the host composes host→gateway→node (docs/protocol.md §4 TIME_MAP).
 */
export function installGateway(mcu: Mcu, opts: GatewayOptions): void {
  const lastSeen = new Map<number, SimTime>();
  const samples = new Map<number, Sample[]>();
  /**
   * Precise send stamps of our requests, and answers waiting for their follow-up, keyed by node and
   * the t1 we put in the request (requests to several nodes leave in the same instant: same t1).
   */
  const sentAt = new Map<string, number>();
  const pendingFollowup = new Map<string, { t1: number; t2: number; t4: number }>();
  const key = (node: number, t1: number) => `${node}:${t1}`;
  const counterBits = new Map<number, number>();
  const nodes = opts.downstream.flatMap((d) => d.nodes.map((node) => ({ node, portIndex: d.portIndex })));

  mcu.onRequest((_h, message, _stamp, reply) => {
    if (message.type !== 'topology_req') return false;
    reply({
      type: 'topology',
      body: {
        routes: nodes.map(({ node, portIndex }) => {
          const seen = lastSeen.get(node);
          const ago = seen === undefined ? undefined : Math.floor((mcu.sim.now - seen) / NS_PER_MS);
          const up = ago !== undefined && ago < 3 * (opts.timeSyncPeriodMs ?? 1000);
          return {
            node,
            port: portIndex,
            hops: 1,
            state: ago === undefined ? RouteState.unknown : up ? RouteState.up : RouteState.down,
            ...(ago !== undefined ? { lastSeenMs: Math.min(ago, 0xffffffff) } : {}),
          };
        }),
      },
    });
    return true;
  });

  const addSample = (node: number, t1: number, t2: number, t3: number, t4: number) => {
    const t1p = sentAt.get(key(node, t1)) ?? t1;
    sentAt.delete(key(node, t1));
    // Our own times are unwrapped; the node's counter may wrap: take its differences modulo its width.
    const bits = counterBits.get(node) ?? 64; // the spec's default when HELLO gave no clock
    const rtt = t4 - t1p - signedMod(t3 - t2, bits);
    const offset = (signedMod(t2 - t1p, bits) + signedMod(t3 - t4, bits)) / 2;
    const list = samples.get(node) ?? [];
    list.push({ at: (t1p + t4) / 2, offset, rtt });
    if (list.length > WINDOW) list.shift();
    samples.set(node, list);
  };

  mcu.onResponse((h, message, stamp) => {
    lastSeen.set(h.src, mcu.sim.now);
    const t4 = unwrappedUs(mcu, stamp.startNs);
    if (message.type === 'time_sync_resp') {
      const { t1, t2, t3 } = message.body;
      if (t3 !== undefined) addSample(h.src, t1, t2, t3, t4);
      else pendingFollowup.set(key(h.src, t1), { t1, t2, t4 });
    }
  });
  // Frames from downstream nodes to the host pass through us: they show the node is alive, and its
  // HELLO tells the width of its clock counter.
  mcu.onForward((h, bytes) => {
    if (!nodes.some((n) => n.node === h.src)) return;
    lastSeen.set(h.src, mcu.sim.now);
    if (h.type !== MESSAGES.hello.code) return;
    const m = decodeMessageBody(h.type, bytes.subarray(8, bytes.length - 4));
    if (m.ok && m.value.type === 'hello' && m.value.body.clock)
      counterBits.set(h.src, m.value.body.clock.counterBits);
  });
  // Follow-ups are events (no RESPONSE flag).
  mcu.onEvent((h, message) => {
    lastSeen.set(h.src, mcu.sim.now);
    if (message.type !== 'time_sync_followup') return;
    const k = key(h.src, message.body.t1);
    const p = pendingFollowup.get(k);
    if (!p) return;
    pendingFollowup.delete(k);
    addSample(h.src, p.t1, p.t2, message.body.t3, p.t4);
  });

  const syncAll = () => {
    // Exchanges a silent node never answered must not pile up.
    if (sentAt.size > 64) sentAt.clear();
    if (pendingFollowup.size > 64) pendingFollowup.clear();
    for (const { node } of nodes) {
      const t1 = unwrappedUs(mcu, mcu.sim.now);
      mcu.send(
        node,
        { type: 'time_sync_req', body: { t1 } },
        { priority: 0, started: (s) => sentAt.set(key(node, t1), unwrappedUs(mcu, s)) },
      );
    }
    mcu.after((opts.timeSyncPeriodMs ?? 1000) * NS_PER_MS, syncAll);
  };

  const reportAll = () => {
    const now = unwrappedUs(mcu, mcu.sim.now);
    for (const { node } of nodes) {
      const fit = fitMapping(samples.get(node) ?? [], now);
      if (fit) mcu.send(ADDRESS_HOST, { type: 'time_map', body: { node, at: now, ...fit } }, { priority: 0 });
    }
    mcu.after((opts.timeMapPeriodMs ?? 5000) * NS_PER_MS, reportAll);
  };

  mcu.onBoot(() => {
    if (mcu.bootOutcome?.mode !== 'app') return;
    samples.clear();
    sentAt.clear();
    pendingFollowup.clear();
    lastSeen.clear();
    counterBits.clear();
    mcu.after(100 * NS_PER_MS, syncAll);
    mcu.after((opts.timeMapPeriodMs ?? 5000) * NS_PER_MS, reportAll);
  });
}

/** The gateway extends its own counter in firmware; it reasons in unwrapped µs. */
function unwrappedUs(mcu: Mcu, t: SimTime): number {
  return Math.floor(mcu.clock.deviceNsAt(t) / 1000);
}

function signedMod(d: number, bits: number): number {
  if (bits >= 53) return d;
  const m = 2 ** bits;
  const r = ((d % m) + m) % m;
  return r >= m / 2 ? r - m : r;
}

/**
 * Least-squares line through the lower-RTT half of the window (queuing only ever adds delay, so the
 * fastest exchanges are the truest). The bound is the worst residual plus half the smallest RTT's
 * spread over the kept samples, and at least 1 µs of counter resolution.
 */
export function fitMapping(
  all: readonly Sample[],
  at: number,
): { offsetUs: number; skewPpb: number; errorBoundUs: number; samples: number } | null {
  if (all.length < 2) return null;
  const sorted = [...all].sort((a, b) => a.rtt - b.rtt);
  const kept = sorted.slice(0, Math.max(2, Math.ceil(sorted.length / 2)));
  const n = kept.length;
  const mx = kept.reduce((s, x) => s + x.at, 0) / n;
  const my = kept.reduce((s, x) => s + x.offset, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const k of kept) {
    sxx += (k.at - mx) ** 2;
    sxy += (k.at - mx) * (k.offset - my);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const residual = Math.max(...kept.map((k) => Math.abs(k.offset - (my + slope * (k.at - mx)))));
  const rttSpread = (Math.max(...kept.map((k) => k.rtt)) - Math.min(...kept.map((k) => k.rtt))) / 2;
  return {
    offsetUs: Math.round(my + slope * (at - mx)),
    skewPpb: Math.round(slope * 1e9),
    errorBoundUs: Math.ceil(residual + rttSpread + 1),
    samples: n,
  };
}
