import type { Message } from '@mcubus/protocol';
import { ClockEstimator, type ClockEstimatorConfig } from './clock-estimator.js';
import { composedOffsetAt, composeHostOf, type GatewayMap } from './gateway-map.js';

type TimeMapBody = Extract<Message, { type: 'time_map' }>['body'];

/**
 * Host-side time sync for every device, sans-IO. The daemon tells it which devices exist (and when
 * one rebooted), what exchanges it sent and what came back; it says which exchanges to start, what
 * happened (clock jumps, new epochs) and when to be woken. Directly attached devices get their own
 * exchanges and estimator; nodes behind a gateway are timed through the gateway's TIME_MAP reports,
 * with direct exchanges through the gateway only as a fallback when no map comes.
 */
export interface TimeServiceConfig {
  readonly estimator?: ClockEstimatorConfig;
  /** How long to wait for a gateway's TIME_MAP for a node before timing it directly (default 15 s). */
  readonly mapWaitUs?: number;
  /** A map older than this no longer counts (default 60 s). */
  readonly mapStaleUs?: number;
  /** An exchange whose answer or follow-up has not come after this is dropped (default 2 s). */
  readonly exchangeTimeoutUs?: number;
  /** Rate uncertainty of a gateway's map per µs of age (default 0.5 ppm). */
  readonly mapSkewUncertainty?: number;
}

export type TimeInput =
  /** A device is known (HELLO / IDENTIFY); `rebooted` = it just booted, its counter restarted. */
  | {
      readonly type: 'device';
      readonly device: number;
      readonly counterBits: number;
      readonly via: number | null;
      readonly rebooted: boolean;
      /** The host bus's FrameTransport.timeAsymmetryUs (the first hop's; gateways time the rest). */
      readonly asymmetryUs?: number;
    }
  | { readonly type: 'forget'; readonly device: number }
  /**
   * The health monitor saw the device reset (its uptime went backwards); `bootedAtUs` = host time of
   * that boot by the device's uptime, when known.
   */
  | { readonly type: 'rebooted'; readonly device: number; readonly bootedAtUs?: number }
  /** Our request carrying `t1` left at host time `txUs` (the transport's stamp). */
  | { readonly type: 'sent'; readonly device: number; readonly t1: number; readonly txUs: number }
  | {
      readonly type: 'answer';
      readonly device: number;
      readonly body: Extract<Message, { type: 'time_sync_resp' }>['body'];
      readonly rxUs: number;
    }
  | {
      readonly type: 'followup';
      readonly device: number;
      readonly body: Extract<Message, { type: 'time_sync_followup' }>['body'];
    }
  | { readonly type: 'failed'; readonly device: number; readonly t1: number }
  | { readonly type: 'time_map'; readonly gateway: number; readonly body: TimeMapBody }
  | { readonly type: 'tick' };

export type TimeEvent =
  | { readonly kind: 'jump'; readonly device: number; readonly deltaUs: number }
  | { readonly kind: 'epoch'; readonly device: number; readonly epoch: number; readonly reason: string }
  | {
      readonly kind: 'synced';
      readonly device: number;
      readonly boundUs: number;
      readonly method: TimeMethod;
    };

export type TimeMethod = 'direct' | 'via_gateway' | 'direct_through_gateway';

export interface TimeOutput {
  /** Exchanges to start now: send TIME_SYNC_REQ with this t1 to the device. */
  readonly exchanges: readonly { readonly device: number; readonly t1: number }[];
  readonly events: readonly TimeEvent[];
  readonly wakeAt?: number;
}

export interface DeviceTimeView {
  readonly device: number;
  readonly epoch: number;
  readonly method: TimeMethod;
  readonly synced: boolean;
  /** device − host (µs) now; counters that wrap show their wrapped offset. */
  readonly offsetUs?: number;
  readonly skewPpm?: number;
  readonly boundUs?: number;
  /** Exchanges the fit used / in the window (direct), or the map's sample count (via a gateway). */
  readonly samplesUsed?: number;
  readonly samplesInWindow?: number;
  readonly exchangePeriodMs?: number;
  readonly rttMinUs?: number;
  readonly gateway?: number;
  readonly mapAgeMs?: number;
  readonly counters: { samples: number; outliers: number; jumps: number; rejected: number; failed: number };
}

interface Pending {
  readonly startedUs: number;
  txUs?: number;
  answer?: { t2: number; t4: number };
}

interface DeviceState {
  readonly device: number;
  counterBits: number;
  via: number | null;
  epoch: number;
  estimator: ClockEstimator;
  map: GatewayMap | null;
  knownSinceUs: number;
  lastExchangeUs: number | null;
  readonly pending: Map<number, Pending>;
  synced: boolean;
  failed: number;
  /** TIME_MAPs left unused as implausible (#plausibleMap). */
  mapsRejected: number;
}

/** A reset seen this soon after a new epoch began is the same reboot. */
const REBOOT_DEDUP_US = 5_000_000;
/** Uptime is in ms and the device's clock drifts: "after the boot" with this much slack. */
const BOOT_CLOCK_SLACK_US = 500_000;

export class TimeService {
  readonly #c: TimeServiceConfig;
  readonly #devices = new Map<number, DeviceState>();

  constructor(config: TimeServiceConfig = {}) {
    this.#c = config;
  }

  handle(input: TimeInput, nowUs: number): TimeOutput {
    const events: TimeEvent[] = [];
    switch (input.type) {
      case 'device':
        this.#onDevice(input, nowUs, events);
        break;
      case 'forget':
        this.#devices.delete(input.device);
        break;
      case 'rebooted': {
        // The boot HELLO usually said so already: one reboot is one new epoch. By the device's uptime
        // when known (the epoch began after that boot: the same one), else by how recent it is.
        const d = this.#devices.get(input.device);
        const same =
          d !== undefined &&
          (input.bootedAtUs !== undefined
            ? d.knownSinceUs >= input.bootedAtUs - BOOT_CLOCK_SLACK_US
            : nowUs - d.knownSinceUs <= REBOOT_DEDUP_US);
        if (d && !same)
          this.#onDevice(
            {
              type: 'device',
              device: d.device,
              counterBits: d.counterBits,
              via: d.via,
              rebooted: true,
              asymmetryUs: d.estimator.asymmetryUs,
            },
            nowUs,
            events,
          );
        break;
      }
      case 'sent': {
        const p = this.#devices.get(input.device)?.pending.get(input.t1);
        if (p) p.txUs = input.txUs;
        break;
      }
      case 'answer':
        this.#onAnswer(input, events, nowUs);
        break;
      case 'followup': {
        const d = this.#devices.get(input.device);
        const p = d?.pending.get(input.body.t1);
        if (d && p?.answer) {
          d.pending.delete(input.body.t1);
          this.#complete(d, input.body.t1, p, p.answer.t2, input.body.t3, p.answer.t4, events, nowUs);
        }
        break;
      }
      case 'failed': {
        const d = this.#devices.get(input.device);
        if (d?.pending.delete(input.t1)) d.failed++;
        break;
      }
      case 'time_map':
        this.#onTimeMap(input.gateway, input.body, nowUs, events);
        break;
      case 'tick':
        break;
    }
    return this.#schedule(nowUs, events);
  }

  #onDevice(input: Extract<TimeInput, { type: 'device' }>, nowUs: number, events: TimeEvent[]): void {
    const existing = this.#devices.get(input.device);
    if (existing && !input.rebooted && existing.counterBits === input.counterBits) {
      existing.via = input.via;
      existing.estimator.asymmetryUs = input.asymmetryUs ?? 0;
      return;
    }
    const epoch = existing ? existing.epoch + 1 : 1;
    const estimator = new ClockEstimator({ ...this.#c.estimator, counterBits: input.counterBits });
    estimator.asymmetryUs = input.asymmetryUs ?? 0;
    this.#devices.set(input.device, {
      device: input.device,
      counterBits: input.counterBits,
      via: input.via,
      epoch,
      estimator,
      map: null,
      knownSinceUs: nowUs,
      lastExchangeUs: null,
      pending: new Map(),
      synced: false,
      failed: existing?.failed ?? 0,
      mapsRejected: existing?.mapsRejected ?? 0,
    });
    if (existing) {
      events.push({
        kind: 'epoch',
        device: input.device,
        epoch,
        reason: input.rebooted ? 'rebooted' : 'clock width changed',
      });
      // A gateway that rebooted restarts its downstream timing too: its old maps refer to a clock
      // epoch that is gone.
      for (const d of this.#devices.values()) if (d.via === input.device) d.map = null;
    }
  }

  #onAnswer(input: Extract<TimeInput, { type: 'answer' }>, events: TimeEvent[], nowUs: number): void {
    const d = this.#devices.get(input.device);
    const p = d?.pending.get(input.body.t1);
    if (!d || !p) return;
    if (input.body.t3 === undefined) {
      p.answer = { t2: input.body.t2, t4: input.rxUs };
      return;
    }
    d.pending.delete(input.body.t1);
    this.#complete(d, input.body.t1, p, input.body.t2, input.body.t3, input.rxUs, events, nowUs);
  }

  #complete(
    d: DeviceState,
    t1Body: number,
    p: Pending,
    t2: number,
    t3: number,
    t4: number,
    events: TimeEvent[],
    _nowUs: number,
  ): void {
    const r = d.estimator.addExchange({ t1: p.txUs ?? t1Body, t2, t3, t4 });
    for (const e of r.events)
      if (e.kind === 'jump') events.push({ kind: 'jump', device: d.device, deltaUs: e.deltaUs });
    this.#checkSynced(d, events, t4);
  }

  #checkSynced(d: DeviceState, events: TimeEvent[], nowUs: number): void {
    if (d.synced) return;
    const v = this.#view(d, nowUs);
    // Synced = a skew is known (the bound no longer grows at the crystals' worst rate) and the
    // bound is under a millisecond, beyond what the path's asymmetry adds whatever is done.
    const path = (d.via === null ? d : this.#devices.get(d.via))?.estimator.asymmetryUs ?? 0;
    if (v.boundUs !== undefined && v.boundUs - path < 1000 && (v.skewPpm ?? 0) !== 0) {
      d.synced = true;
      events.push({ kind: 'synced', device: d.device, boundUs: Math.round(v.boundUs), method: v.method });
    }
  }

  #onTimeMap(gateway: number, body: TimeMapBody, nowUs: number, events: TimeEvent[]): void {
    const d = this.#devices.get(body.node);
    // Only the node's own gateway speaks for it.
    if (!d || d.via !== gateway) return;
    if (!plausibleMap(body)) {
      d.mapsRejected++;
      return;
    }
    d.map = { body, receivedUs: nowUs };
    this.#checkSynced(d, events, nowUs);
  }

  #method(d: DeviceState, nowUs: number): TimeMethod {
    if (d.via === null) return 'direct';
    if (this.#freshMap(d, nowUs)) return 'via_gateway';
    // The same sum #schedule wakes at: `now − known < wait` can still hold, by a rounding error, at
    // the very instant `known + wait` — a wake-up that changes nothing, asked for again for ever.
    return nowUs < d.knownSinceUs + (this.#c.mapWaitUs ?? 15_000_000)
      ? 'via_gateway'
      : 'direct_through_gateway';
  }

  #freshMap(d: DeviceState, nowUs: number): GatewayMap | null {
    if (!d.map || nowUs - d.map.receivedUs > (this.#c.mapStaleUs ?? 60_000_000)) return null;
    return d.map;
  }

  #schedule(nowUs: number, events: TimeEvent[]): TimeOutput {
    const exchanges: { device: number; t1: number }[] = [];
    let wakeAt = Number.POSITIVE_INFINITY;
    const timeout = this.#c.exchangeTimeoutUs ?? 2_000_000;
    for (const d of this.#devices.values()) {
      for (const [t1, p] of d.pending) {
        // The sum it wakes at (a difference can miss it by a rounding error: a livelock).
        if (nowUs >= p.startedUs + timeout) {
          d.pending.delete(t1);
          d.failed++;
        } else wakeAt = Math.min(wakeAt, p.startedUs + timeout);
      }
      const method = this.#method(d, nowUs);
      if (method === 'via_gateway') {
        // Waiting for maps: look again when the wait runs out.
        if (!this.#freshMap(d, nowUs))
          wakeAt = Math.min(wakeAt, d.knownSinceUs + (this.#c.mapWaitUs ?? 15_000_000));
        continue;
      }
      if (d.pending.size > 0) continue;
      const due = d.lastExchangeUs === null ? nowUs : d.estimator.nextExchangeAt(d.lastExchangeUs);
      if (due <= nowUs) {
        // Whole µs: t1 travels as an unsigned integer.
        const t1 = Math.floor(nowUs);
        d.lastExchangeUs = nowUs;
        d.pending.set(t1, { startedUs: nowUs });
        exchanges.push({ device: d.device, t1 });
        wakeAt = Math.min(wakeAt, nowUs + timeout);
      } else wakeAt = Math.min(wakeAt, due);
    }
    return { exchanges, events, ...(Number.isFinite(wakeAt) ? { wakeAt } : {}) };
  }

  /** Host time (µs) of a raw device timestamp, with its bound; null when not (yet) known. */
  hostOf(
    device: number,
    rawDeviceUs: number,
    nowUs: number,
  ): { hostUs: number; boundUs: number; epoch: number } | null {
    const d = this.#devices.get(device);
    if (!d) return null;
    const method = this.#method(d, nowUs);
    if (method === 'via_gateway') {
      const map = this.#freshMap(d, nowUs);
      const gw = d.via === null ? undefined : this.#devices.get(d.via);
      if (!map || !gw) return null;
      const r = composeHostOf(gw.estimator, map, rawDeviceUs, d.counterBits, nowUs, this.#composeOptions());
      return r ? { ...r, epoch: d.epoch } : null;
    }
    if (!d.estimator.mapping) return null;
    const r = d.estimator.hostOf(d.estimator.unwrap(rawDeviceUs, nowUs));
    return r ? { ...r, boundUs: r.boundUs + throughGatewayUs(d, method), epoch: d.epoch } : null;
  }

  #composeOptions() {
    return this.#c.mapSkewUncertainty !== undefined ? { mapSkewUncertainty: this.#c.mapSkewUncertainty } : {};
  }

  /** The estimator of a directly timed device (for benchmarks and tests). */
  estimatorOf(device: number): ClockEstimator | undefined {
    return this.#devices.get(device)?.estimator;
  }

  epochOf(device: number): number | undefined {
    return this.#devices.get(device)?.epoch;
  }

  snapshot(nowUs: number): DeviceTimeView[] {
    return [...this.#devices.values()].sort((a, b) => a.device - b.device).map((d) => this.#view(d, nowUs));
  }

  #view(d: DeviceState, nowUs: number): DeviceTimeView {
    const method = this.#method(d, nowUs);
    const counters = {
      ...d.estimator.counters,
      rejected: d.estimator.counters.rejected + d.mapsRejected,
      failed: d.failed,
    };
    const base = { device: d.device, epoch: d.epoch, method, synced: d.synced, counters };
    if (method === 'via_gateway') {
      const map = this.#freshMap(d, nowUs);
      const gw = d.via === null ? undefined : this.#devices.get(d.via);
      if (!map || !gw?.estimator.mapping) return { ...base, ...(d.via !== null ? { gateway: d.via } : {}) };
      const gm = gw.estimator.mapping;
      const ageUs = nowUs - map.receivedUs;
      return {
        ...base,
        gateway: gw.device,
        offsetUs: Math.round(composedOffsetAt(gw.estimator, map, nowUs)),
        skewPpm: (gm.skew + map.body.skewPpb * 1e-9) * 1e6,
        boundUs:
          gw.estimator.boundAt(nowUs) +
          map.body.errorBoundUs +
          (this.#c.mapSkewUncertainty ?? 0.5e-6) * ageUs,
        ...(map.body.samples !== undefined ? { samplesUsed: map.body.samples } : {}),
        mapAgeMs: Math.round(ageUs / 1000),
      };
    }
    const m = d.estimator.mapping;
    if (!m) return base;
    return {
      ...base,
      ...(d.via !== null ? { gateway: d.via } : {}),
      offsetUs: Math.round(d.estimator.offsetAt(nowUs)),
      skewPpm: m.skew * 1e6,
      boundUs: d.estimator.boundAt(nowUs) + throughGatewayUs(d, method),
      samplesUsed: m.fitSamples,
      samplesInWindow: m.windowSamples,
      exchangePeriodMs: d.estimator.periodUs / 1000,
      rttMinUs: m.rttMinUs,
    };
  }
}

/** Two crystals of ±100 ppm differ by at most 200 ppm: a map claiming more is not a measurement. */
const MAX_MAP_SKEW_PPB = 1_000_000;
/** A line through fewer exchanges has no residual to bound its own error with. */
const MIN_MAP_SAMPLES = 4;

/**
 * Whether a gateway's TIME_MAP can be used. A gateway just (re)started fitted its first two or three
 * exchanges and sent a skew of 41 000 ppm with a bound that covered none of it: the composed time was
 * 1.6 s off (the soak, seed 1 on the reference board). Such maps are counted and left unused; the node
 * is timed as before (the previous map, or directly through the gateway) until a sound one comes.
 */
function plausibleMap(body: TimeMapBody): boolean {
  if (Math.abs(body.skewPpb) > MAX_MAP_SKEW_PPB) return false;
  return body.samples === undefined || body.samples >= MIN_MAP_SAMPLES;
}

/**
 * A node timed with exchanges the gateway only forwards (no TIME_MAP from it): the gateway's store and
 * forward is not the same both ways — the answer and the request differ in length on buses of
 * different speeds — so the quickest exchange may still be split unevenly, by up to all of it. The
 * soak saw 193 µs of error under a 28 µs bound. Half the quickest round trip is the honest allowance.
 */
function throughGatewayUs(d: DeviceState, method: TimeMethod): number {
  const m = d.estimator.mapping;
  return method === 'direct_through_gateway' && m ? m.rttMinUs / 2 : 0;
}
