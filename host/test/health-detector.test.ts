import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../src/health/index.js';
import { IntervalEstimator } from '../src/health/interval.js';
import type { HealthEvent, HealthInput, HealthMonitorConfig, HeartbeatBody } from '../src/health/types.js';

const DEV = 0x21;
const S = 1_000_000;

function hb(uptimeMs: number, over: Partial<HeartbeatBody> = {}): HeartbeatBody {
  return { uptimeMs, mode: 1, health: 0, resetReason: 1, resetCount: 0, periodMs: 1000, ...over };
}

/** Drives a monitor on a virtual clock, ticking at every wakeAt and answering probes via `answer`. */
class Rig {
  readonly mon: HealthMonitor;
  now = 0;
  wake: number | undefined;
  readonly events: HealthEvent[] = [];
  readonly probes: { device: number; atUs: number }[] = [];
  answer: (device: number, atUs: number) => boolean | null = () => false;

  constructor(cfg?: HealthMonitorConfig) {
    this.mon = new HealthMonitor(cfg);
  }

  at(t: number, input: HealthInput): void {
    this.advance(t);
    this.apply(input);
  }

  advance(t: number): void {
    while (this.wake !== undefined && this.wake <= t) {
      expect(this.wake).toBeGreaterThan(this.now - 1);
      this.now = this.wake;
      this.apply({ type: 'tick' });
    }
    this.now = t;
  }

  private apply(input: HealthInput): void {
    const out = this.mon.handle(input, this.now);
    this.events.push(...out.events);
    this.wake = out.wakeAt;
    for (const device of out.probes) {
      this.probes.push({ device, atUs: this.now });
      const ok = this.answer(device, this.now);
      if (ok !== null) this.apply({ type: 'probe_result', device, ok, rttUs: 1000 });
    }
  }

  states(device = DEV): string[] {
    return this.events.flatMap((e) =>
      e.kind === 'state' && e.device === device ? [`${e.from}>${e.to}`] : [],
    );
  }
}

function heartbeats(rig: Rig, fromS: number, toS: number, periodUs = S, device = DEV): void {
  const periodMs = periodUs / 1000;
  for (let i = fromS; i <= toS; i++) {
    rig.at(i * periodUs, { type: 'heartbeat', device, body: hb(i * periodMs, { periodMs }), via: null });
  }
}

describe('health failure detector', () => {
  it('keeps a steadily heartbeating device up without probing it', () => {
    const rig = new Rig();
    heartbeats(rig, 0, 100);
    expect(rig.states()).toEqual(['unknown>up']);
    expect(rig.probes).toEqual([]);
    // Next deadline: suspicion at mean + 4·(0.05·mean) = 1.2 s after the last heartbeat.
    expect(rig.wake).toBe(101.2 * S);
    expect(rig.mon.snapshot()[0]).toMatchObject({
      state: 'up',
      expectedIntervalUs: S,
      lastHeartbeatUs: 100 * S,
    });
  });

  it('turns one lost heartbeat into suspect → probe ok → up, never down', () => {
    const rig = new Rig();
    rig.answer = () => true;
    heartbeats(rig, 0, 5);
    heartbeats(rig, 7, 10); // the heartbeat at 6 s is lost
    expect(rig.states()).toEqual(['unknown>up', 'up>suspect', 'suspect>up']);
    expect(rig.probes).toEqual([{ device: DEV, atUs: 6.2 * S }]);
    const back = rig.events.filter((e) => e.kind === 'state')[2]!;
    expect(back).toMatchObject({ atUs: 6.2 * S, evidence: { probe: { ok: true, attempts: 1 } } });
    expect(rig.mon.snapshot()[0]!.lastRttUs).toBe(1000);
  });

  it('declares a dead device down 2.3 periods after its last heartbeat, with the evidence', () => {
    const rig = new Rig();
    heartbeats(rig, 0, 5);
    rig.advance(20 * S);
    expect(rig.states()).toEqual(['unknown>up', 'up>suspect', 'suspect>down']);
    const down = rig.events.find((e) => e.kind === 'state' && e.to === 'down');
    // Probes every 50 ms from 6.2 s to 7.25 s: 22 attempts, all failed.
    expect(down).toEqual({
      kind: 'state',
      device: DEV,
      from: 'suspect',
      to: 'down',
      atUs: 7.3 * S,
      evidence: {
        lastHeartbeatUs: 5 * S,
        silentForUs: 2.3 * S,
        probe: { ok: false, attempts: 22 },
        reason: 'probes unanswered',
      },
    });
    expect(rig.probes.length).toBe(22);
    expect(rig.wake).toBeUndefined();
    // Any heartbeat brings it back.
    rig.at(30 * S, { type: 'heartbeat', device: DEV, body: hb(10), via: null });
    expect(rig.states().at(-1)).toBe('down>up');
  });

  it('detects a 100 ms device faster than a 1 s one (deadlines scale with the interval)', () => {
    const rig = new Rig();
    const FAST = 0x30;
    heartbeats(rig, 0, 10, S);
    for (let i = 0; i <= 100; i++) {
      rig.at(i * 100_000, {
        type: 'heartbeat',
        device: FAST,
        body: hb(i * 100, { periodMs: 100 }),
        via: null,
      });
    }
    // Both fall silent after t = 10 s.
    rig.advance(30 * S);
    const downAt = (d: number) =>
      rig.events.find((e) => e.kind === 'state' && e.device === d && e.to === 'down')?.atUs;
    expect(downAt(FAST)).toBe(10 * S + 230_000);
    expect(downAt(DEV)).toBe(12.3 * S);
    // Short periods probe faster so ≥ 16 probes still fit between 1.5 and 2.3 periods.
    const fastProbes = rig.probes.filter((p) => p.device === FAST);
    expect(fastProbes[1]!.atUs - fastProbes[0]!.atUs).toBe(5000);
  });

  it('learns the interval from heartbeats when the period is not announced', () => {
    const rig = new Rig({ defaultPeriodUs: S });
    for (let i = 0; i <= 20; i++) {
      rig.at(i * 200_000, {
        type: 'heartbeat',
        device: DEV,
        body: hb(i * 200, { periodMs: undefined }),
        via: null,
      });
    }
    expect(rig.mon.snapshot()[0]!.expectedIntervalUs).toBe(200_000);
    rig.advance(10 * S);
    const down = rig.events.find((e) => e.kind === 'state' && e.to === 'down');
    expect(down?.atUs).toBe(4 * S + 460_000);
  });
});

describe('IntervalEstimator', () => {
  it('uses the announced period until three samples, then the mean', () => {
    const e = new IntervalEstimator();
    e.add(900_000, S);
    e.add(900_000, S);
    expect(e.mean(S)).toBe(S);
    e.add(900_000, S);
    expect(e.mean(S)).toBe(900_000);
  });

  it('clamps the suspicion time to [1.1, 1.5] periods', () => {
    const steady = new IntervalEstimator();
    for (let i = 0; i < 10; i++) steady.add(S, S);
    expect(steady.suspectAfterUs(S)).toBeCloseTo(1.2 * S, 3);
    const jittery = new IntervalEstimator();
    for (let i = 0; i < 10; i++) jittery.add(i % 2 === 0 ? 0.7 * S : 1.3 * S, S);
    expect(jittery.suspectAfterUs(S)).toBe(1.5 * S);
    const fast = new IntervalEstimator();
    for (let i = 0; i < 10; i++) fast.add(0.8 * S, S);
    expect(fast.suspectAfterUs(S)).toBeCloseTo(1.1 * S, 3);
  });

  it('counts a gap of k periods as k samples of one period (lost heartbeats, not a slow device)', () => {
    const e = new IntervalEstimator();
    for (let i = 0; i < 5; i++) e.add(S, S);
    e.add(3 * S, S);
    expect(e.count).toBe(8);
    expect(e.mean(S)).toBe(S);
  });
});
