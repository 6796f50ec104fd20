/**
 * Health monitor of mcubusd, sans-IO: heartbeats, frames and probe/request outcomes in; probes to
 * send, the next wake-up time and health events out. No clock, timers or randomness of its own:
 * every call passes the current time in µs and the caller ticks at `wakeAt`.
 *
 * The failure detector and the arithmetic behind its deadlines are documented in `interval.ts`.
 */
import { enumName, ResetReason } from '@mcubus/protocol';
import { type DeviceRecord, type Liveness, newDevice } from './device.js';
import { downAfterUs, probeSpacingUs } from './interval.js';
import { overlay } from './overlay.js';
import { CrashLoopTracker, isReset } from './resets.js';
import type {
  DeviceSnapshot,
  HealthEvent,
  HealthInput,
  HealthMonitorConfig,
  HealthOutput,
  HealthState,
  HeartbeatBody,
  StateEvidence,
} from './types.js';

interface Settings {
  readonly defaultPeriodUs: number;
  readonly probeIntervalUs: number;
  readonly zombieFailures: number;
  readonly crashLoopResets: number;
  readonly crashLoopWindowUs: number;
}

export class HealthMonitor {
  private readonly cfg: Settings;
  private readonly devices = new Map<number, DeviceRecord>();

  constructor(config: HealthMonitorConfig = {}) {
    this.cfg = {
      defaultPeriodUs: config.defaultPeriodUs ?? 1_000_000,
      probeIntervalUs: config.probeIntervalUs ?? 50_000,
      zombieFailures: config.zombieFailures ?? 3,
      crashLoopResets: config.crashLoopResets ?? 3,
      crashLoopWindowUs: config.crashLoopWindowUs ?? 60_000_000,
    };
  }

  handle(input: HealthInput, nowUs: number): HealthOutput {
    const events: HealthEvent[] = [];
    const probes: number[] = [];
    switch (input.type) {
      case 'heartbeat':
        this.onHeartbeat(input.device, input.body, input.via, nowUs, events);
        break;
      case 'frame':
        this.proofOfLife(this.device(input.device), nowUs, events, { reason: 'frame' });
        break;
      case 'probe_result': {
        const d = this.devices.get(input.device);
        // A failed probe changes nothing by itself: the down deadline decides, so one lost answer
        // on a lossy link cannot cause a false down.
        if (d === undefined || !input.ok) break;
        if (input.rttUs !== undefined) d.lastRttUs = input.rttUs;
        const probe = { ok: true, attempts: d.probeAttempts };
        this.proofOfLife(d, nowUs, events, { probe, reason: 'probe answered' });
        break;
      }
      case 'request_result': {
        const d = this.devices.get(input.device);
        if (d === undefined) break;
        d.failedRequests = input.ok ? 0 : d.failedRequests + 1;
        this.report(d, nowUs, events, {});
        break;
      }
      case 'forget':
        this.devices.delete(input.device);
        break;
      case 'expect': {
        // Already heard in this run: what it said is better evidence than the registry.
        if (this.devices.has(input.device)) break;
        const d = this.device(input.device);
        d.via = input.via;
        d.expected = true;
        d.anchorUs = nowUs + input.graceUs;
        break;
      }
      case 'bus_silent': {
        const hit = this.markUnreachable(input.devices, null, nowUs, events, `bus ${input.bus} silent`);
        if (hit.length > 0) events.push({ kind: 'bus_down', bus: input.bus, atUs: nowUs, devices: hit });
        break;
      }
      case 'tick':
        break;
    }
    const wakeAt = this.runTimers(nowUs, events, probes);
    return wakeAt === undefined ? { probes, events } : { probes, wakeAt, events };
  }

  snapshot(): DeviceSnapshot[] {
    return [...this.devices.values()]
      .sort((a, b) => a.device - b.device)
      .map((d) => ({
        device: d.device,
        state: this.shownState(d),
        via: d.via,
        lastHeartbeatUs: d.lastHeartbeatUs,
        mode: d.lastHb?.mode ?? null,
        health: d.lastHb?.health ?? null,
        resetCount: d.lastHb?.resetCount ?? null,
        resetsSeen: d.resetsSeen,
        crashLoop: d.crashLoop.active,
        expectedIntervalUs: d.lastHb === null ? null : d.intervals.mean(d.periodUs),
        lastRttUs: d.lastRttUs,
      }));
  }

  private device(address: number): DeviceRecord {
    let d = this.devices.get(address);
    if (d === undefined) {
      const loop = new CrashLoopTracker(this.cfg.crashLoopResets, this.cfg.crashLoopWindowUs);
      d = newDevice(address, this.cfg.defaultPeriodUs, loop);
      this.devices.set(address, d);
    }
    return d;
  }

  private onHeartbeat(
    address: number,
    body: HeartbeatBody,
    via: number | null,
    nowUs: number,
    events: HealthEvent[],
  ): void {
    const d = this.device(address);
    d.via = via;
    if (isReset(d.lastHb, body)) {
      d.resetsSeen++;
      const reason = enumName(ResetReason, body.resetReason);
      events.push({ kind: 'reset', device: address, atUs: nowUs, reason, resetCount: body.resetCount });
      if (d.crashLoop.record(nowUs)) {
        const { crashLoopWindowUs: windowUs } = this.cfg;
        events.push({
          kind: 'crash_loop',
          device: address,
          atUs: nowUs,
          resets: d.crashLoop.count,
          windowUs,
        });
      }
    }
    d.crashLoop.update(nowUs);
    if (body.periodMs !== undefined && body.periodMs > 0) d.periodUs = body.periodMs * 1000;
    // A gap that spans an outage says nothing about the heartbeat rhythm: leave it out.
    const rhythmKept = d.liveness === 'up' || d.liveness === 'suspect';
    if (d.lastHeartbeatUs !== null && rhythmKept) d.intervals.add(nowUs - d.lastHeartbeatUs, d.periodUs);
    if (body.periodMs === undefined && d.intervals.count >= 3) d.periodUs = d.intervals.mean(d.periodUs);
    d.lastHb = body;
    d.lastHeartbeatUs = nowUs;
    d.anchorUs = nowUs;
    this.proofOfLife(d, nowUs, events, { lastHeartbeatUs: nowUs, reason: 'heartbeat' });
  }

  /** Any sign of life: back to up (from any liveness state), and the deadlines move forward. */
  private proofOfLife(d: DeviceRecord, nowUs: number, events: HealthEvent[], evidence: StateEvidence): void {
    d.lastSeenUs = nowUs;
    // An expected device heard before its first heartbeat: deadlines count from this sign of life.
    if (d.lastHeartbeatUs === null && d.expected) d.anchorUs = Math.max(d.anchorUs, nowUs);
    if (d.lastHeartbeatUs !== null && nowUs > d.anchorUs) {
      // The device was alive at nowUs, so it sent every heartbeat due until then: move the anchor
      // to the latest such slot (not to nowUs, which would delay detection by up to a period).
      const interval = d.intervals.mean(d.periodUs);
      const slot = d.lastHeartbeatUs + Math.floor((nowUs - d.lastHeartbeatUs) / interval) * interval;
      d.anchorUs = Math.max(d.anchorUs, slot);
    }
    const wasDownGateway = d.liveness === 'down' || d.liveness === 'unreachable';
    d.liveness = 'up';
    d.probeAttempts = 0;
    d.unreachableVia = null;
    this.report(d, nowUs, events, evidence);
    if (wasDownGateway) this.restoreRoute(d.device, nowUs, events);
  }

  /** Devices cut off by this gateway become unknown: their own heartbeats will tell the rest. */
  private restoreRoute(gateway: number, nowUs: number, events: HealthEvent[]): void {
    for (const d of this.devices.values()) {
      if (d.liveness !== 'unreachable' || d.unreachableVia !== gateway) continue;
      d.liveness = 'unknown';
      d.unreachableVia = null;
      // Give the device a full detection window from now, as if its route had just been born.
      d.anchorUs = nowUs;
      this.report(d, nowUs, events, { reason: `route via ${gateway} restored` });
      this.restoreRoute(d.device, nowUs, events);
    }
  }

  /**
   * Marks devices unreachable, and transitively every device routed through one of them (a
   * gateway behind a lost gateway takes its own devices along). Returns the addresses affected.
   */
  private markUnreachable(
    roots: readonly number[],
    gateway: number | null,
    nowUs: number,
    events: HealthEvent[],
    reason: string,
  ): number[] {
    const hit: number[] = [];
    const queue = [...roots];
    while (queue.length > 0) {
      const address = queue.shift()!;
      const d = this.devices.get(address);
      if (d === undefined || d.liveness === 'unreachable') continue;
      d.liveness = 'unreachable';
      d.unreachableVia = gateway;
      hit.push(address);
      this.report(d, nowUs, events, { ...this.silence(d, nowUs), reason });
      for (const dep of this.devices.values()) if (dep.via === address) queue.push(dep.device);
    }
    return hit;
  }

  private runTimers(nowUs: number, events: HealthEvent[], probes: number[]): number | undefined {
    let wakeAt: number | undefined;
    // Gateways first, so a dependent never goes down in the same instant its gateway turns suspect.
    const gateways = new Set<number>();
    for (const d of this.devices.values()) if (d.via !== null) gateways.add(d.via);
    const order = [...this.devices.values()].sort(
      (a, b) => Number(gateways.has(b.device)) - Number(gateways.has(a.device)),
    );
    for (const d of order) {
      d.crashLoop.update(nowUs);
      const next = this.runDeviceTimers(d, nowUs, events, probes);
      if (next !== undefined && (wakeAt === undefined || next < wakeAt)) wakeAt = next;
    }
    return wakeAt;
  }

  private runDeviceTimers(
    d: DeviceRecord,
    nowUs: number,
    events: HealthEvent[],
    probes: number[],
  ): number | undefined {
    const armed: Liveness[] = ['up', 'unknown', 'suspect'];
    if ((d.lastHeartbeatUs === null && !d.expected) || !armed.includes(d.liveness)) return undefined;
    const suspectAt = d.anchorUs + d.intervals.suspectAfterUs(d.periodUs);
    const downAt = d.anchorUs + downAfterUs(d.periodUs);
    if (d.liveness !== 'suspect') {
      if (nowUs < suspectAt) return suspectAt;
      d.liveness = 'suspect';
      d.probeAttempts = 0;
      d.nextProbeUs = nowUs;
      this.report(d, nowUs, events, { ...this.silence(d, nowUs), reason: 'heartbeat overdue' });
    }
    // Behind a gateway that is itself in doubt, silence is not evidence against the device yet.
    const gw = d.via === null ? undefined : this.devices.get(d.via);
    const deferred = gw !== undefined && gw.liveness === 'suspect';
    if (nowUs >= downAt && !deferred) {
      d.liveness = 'down';
      const probe = { ok: false, attempts: d.probeAttempts };
      this.report(d, nowUs, events, { ...this.silence(d, nowUs), probe, reason: 'probes unanswered' });
      this.routeDown(d.device, nowUs, events);
      return undefined;
    }
    if (nowUs >= d.nextProbeUs) {
      probes.push(d.device);
      d.probeAttempts++;
      d.nextProbeUs = nowUs + probeSpacingUs(this.cfg.probeIntervalUs, d.periodUs);
    }
    return deferred ? d.nextProbeUs : Math.min(d.nextProbeUs, downAt);
  }

  /** A gateway went down: its devices are unreachable, reported once as a route_down. */
  private routeDown(gateway: number, nowUs: number, events: HealthEvent[]): void {
    const deps = [...this.devices.values()].filter((x) => x.via === gateway).map((x) => x.device);
    if (deps.length === 0) return;
    const hit = this.markUnreachable(deps, gateway, nowUs, events, `gateway ${gateway} down`);
    if (hit.length > 0) events.push({ kind: 'route_down', gateway, atUs: nowUs, devices: hit });
  }

  private silence(d: DeviceRecord, nowUs: number): StateEvidence {
    if (d.lastHeartbeatUs === null) return {};
    return { lastHeartbeatUs: d.lastHeartbeatUs, silentForUs: nowUs - (d.lastSeenUs ?? d.lastHeartbeatUs) };
  }

  private shownState(d: DeviceRecord): HealthState {
    if (d.liveness !== 'up') return d.liveness;
    return overlay(d.lastHb, d.failedRequests, this.cfg.zombieFailures).state;
  }

  /** Emits a state event if what the device is shown as changed. */
  private report(d: DeviceRecord, nowUs: number, events: HealthEvent[], evidence: StateEvidence): void {
    const to = this.shownState(d);
    if (to === d.shown) return;
    const from = d.shown;
    d.shown = to;
    const reason =
      d.liveness === 'up' ? overlay(d.lastHb, d.failedRequests, this.cfg.zombieFailures).reason : undefined;
    const merged = reason !== undefined && to !== 'up' ? { ...evidence, reason } : evidence;
    events.push({ kind: 'state', device: d.device, from, to, atUs: nowUs, evidence: merged });
  }
}
