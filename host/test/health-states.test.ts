import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../src/health/index.js';
import type { HealthEvent, HealthInput, HeartbeatBody } from '../src/health/types.js';

const S = 1_000_000;
const DEV = 0x21;
const GW = 0x10;

function hb(uptimeMs: number, over: Partial<HeartbeatBody> = {}): HeartbeatBody {
  return { uptimeMs, mode: 1, health: 0, resetReason: 1, resetCount: 0, periodMs: 1000, ...over };
}

/** Virtual clock around a monitor: ticks at every wakeAt; probes are never answered. */
class Rig {
  readonly mon = new HealthMonitor();
  now = 0;
  wake: number | undefined;
  readonly events: HealthEvent[] = [];

  at(t: number, input: HealthInput): HealthEvent[] {
    this.advance(t);
    return this.apply(input);
  }

  advance(t: number): void {
    while (this.wake !== undefined && this.wake <= t) {
      this.now = this.wake;
      this.apply({ type: 'tick' });
    }
    this.now = t;
  }

  private apply(input: HealthInput): HealthEvent[] {
    const out = this.mon.handle(input, this.now);
    this.events.push(...out.events);
    this.wake = out.wakeAt;
    return out.events;
  }

  beat(t: number, device: number, body: HeartbeatBody, via: number | null = null): HealthEvent[] {
    return this.at(t, { type: 'heartbeat', device, body, via });
  }

  states(device: number): string[] {
    return this.events.flatMap((e) =>
      e.kind === 'state' && e.device === device ? [`${e.from}>${e.to}`] : [],
    );
  }

  of(kind: HealthEvent['kind']): HealthEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }
}

describe('health overlays', () => {
  it('shows the device mode and degraded health instead of up', () => {
    const rig = new Rig();
    rig.beat(0, DEV, hb(0, { mode: 0 }));
    rig.beat(1 * S, DEV, hb(1000, { mode: 2 }));
    rig.beat(2 * S, DEV, hb(2000, { mode: 3 }));
    rig.beat(3 * S, DEV, hb(3000, { health: 1 })); // advisory is still up
    rig.beat(4 * S, DEV, hb(4000, { health: 2 }));
    rig.beat(5 * S, DEV, hb(5000, { health: 3 })); // caution → warning: still degraded, no event
    rig.beat(6 * S, DEV, hb(6000));
    expect(rig.states(DEV)).toEqual([
      'unknown>bootloader',
      'bootloader>updating',
      'updating>safe',
      'safe>up',
      'up>degraded',
      'degraded>up',
    ]);
    const degraded = rig.events.find((e) => e.kind === 'state' && e.to === 'degraded');
    expect(degraded).toMatchObject({ atUs: 4 * S, evidence: { reason: 'health level 2' } });
    expect(rig.mon.snapshot()[0]).toMatchObject({ state: 'up', mode: 1, health: 0 });
  });

  it('calls a device a zombie when 3 requests in a row fail while heartbeats arrive', () => {
    const rig = new Rig();
    rig.beat(0, DEV, hb(0));
    rig.at(100_000, { type: 'request_result', device: DEV, ok: false });
    rig.at(200_000, { type: 'request_result', device: DEV, ok: false });
    rig.at(300_000, { type: 'request_result', device: DEV, ok: true }); // breaks the run
    rig.at(400_000, { type: 'request_result', device: DEV, ok: false });
    rig.at(500_000, { type: 'request_result', device: DEV, ok: false });
    expect(rig.states(DEV)).toEqual(['unknown>up']);
    rig.at(600_000, { type: 'request_result', device: DEV, ok: false });
    rig.beat(1 * S, DEV, hb(1000));
    expect(rig.states(DEV)).toEqual(['unknown>up', 'up>zombie']);
    expect(rig.mon.snapshot()[0]!.state).toBe('zombie');
    rig.at(1.1 * S, { type: 'request_result', device: DEV, ok: true });
    expect(rig.states(DEV)).toEqual(['unknown>up', 'up>zombie', 'zombie>up']);
  });
});

describe('health resets', () => {
  it('reports a reset when the uptime goes backwards or the reset counter grows', () => {
    const rig = new Rig();
    rig.beat(0, DEV, hb(50_000));
    expect(rig.beat(1 * S, DEV, hb(200, { resetReason: 4, resetCount: 1 }))).toContainEqual({
      kind: 'reset',
      device: DEV,
      atUs: S,
      reason: 'watchdog',
      resetCount: 1,
    });
    // Uptime kept growing but the counter moved: a reset we missed between two heartbeats.
    const missed = rig.beat(2 * S, DEV, hb(90_000, { resetReason: 5, resetCount: 2 }));
    expect(missed.filter((e) => e.kind === 'reset')).toEqual([
      { kind: 'reset', device: DEV, atUs: 2 * S, reason: 'brownout', resetCount: 2 },
    ]);
    expect(rig.beat(3 * S, DEV, hb(91_000, { resetCount: 2 }))).toEqual([]);
    expect(rig.mon.snapshot()[0]).toMatchObject({ resetsSeen: 2, resetCount: 2, crashLoop: false });
  });

  it('reports a crash loop at the 3rd reset within 60 s, and again only after it calmed down', () => {
    const rig = new Rig();
    let count = 0;
    const resetAt = (t: number) => rig.beat(t, DEV, hb(10, { resetReason: 6, resetCount: ++count }));
    rig.beat(0, DEV, hb(100_000));
    resetAt(10 * S);
    resetAt(30 * S);
    expect(rig.of('crash_loop')).toEqual([]);
    resetAt(50 * S);
    expect(rig.of('crash_loop')).toEqual([
      { kind: 'crash_loop', device: DEV, atUs: 50 * S, resets: 3, windowUs: 60 * S },
    ]);
    resetAt(55 * S); // still the same loop
    expect(rig.of('crash_loop').length).toBe(1);
    expect(rig.mon.snapshot()[0]!.crashLoop).toBe(true);
    // A quiet minute (steady heartbeats, uptime growing) ends the loop …
    for (let t = 56; t <= 120; t++) rig.beat(t * S, DEV, hb((t - 55) * 1000, { resetCount: count }));
    expect(rig.mon.snapshot()[0]!.crashLoop).toBe(false);
    // … so a new burst is reported again.
    resetAt(121 * S);
    resetAt(122 * S);
    resetAt(123 * S);
    expect(rig.of('crash_loop').map((e) => e.atUs)).toEqual([50 * S, 123 * S]);
    expect(rig.of('reset').length).toBe(7);
  });
});

describe('health routes', () => {
  function gatewayRig(): Rig {
    const rig = new Rig();
    for (let t = 0; t <= 5; t++) {
      rig.beat(t * S, GW, hb(t * 1000));
      // Two devices behind the gateway with a faster heartbeat: they fall silent first.
      for (const d of [0x21, 0x22]) rig.beat(t * S, d, hb(t * 1000, { periodMs: 500 }), GW);
      rig.beat(t * S + 500_000, 0x21, hb(t * 1000 + 500, { periodMs: 500 }), GW);
      rig.beat(t * S + 500_000, 0x22, hb(t * 1000 + 500, { periodMs: 500 }), GW);
    }
    return rig;
  }

  it('makes the devices behind a dead gateway unreachable with one route_down, not down each', () => {
    const rig = gatewayRig();
    rig.advance(20 * S);
    expect(rig.states(GW)).toEqual(['unknown>up', 'up>suspect', 'suspect>down']);
    expect(rig.of('route_down')).toEqual([
      { kind: 'route_down', gateway: GW, atUs: 7.3 * S, devices: [0x21, 0x22] },
    ]);
    for (const d of [0x21, 0x22]) {
      expect(rig.states(d)).toEqual(['unknown>up', 'up>suspect', 'suspect>unreachable']);
    }
    expect(rig.events.filter((e) => e.kind === 'state' && e.to === 'down').length).toBe(1);
    expect(rig.mon.snapshot().map((s) => s.state)).toEqual(['down', 'unreachable', 'unreachable']);
    // The gateway comes back: its devices are unknown until their own heartbeats arrive.
    rig.beat(21 * S, GW, hb(10));
    expect(rig.states(0x21).at(-1)).toBe('unreachable>unknown');
    rig.beat(21.2 * S, 0x21, hb(20, { periodMs: 500 }), GW);
    expect(rig.mon.snapshot().map((s) => s.state)).toEqual(['up', 'up', 'unknown']);
    // A device that did not come back with its gateway is still detected as down.
    rig.beat(22 * S, GW, hb(1010));
    rig.beat(22 * S, 0x21, hb(820, { periodMs: 500 }), GW);
    rig.advance(22.9 * S);
    expect(rig.states(0x22).slice(-2)).toEqual(['unknown>suspect', 'suspect>down']);
  });

  it('makes every device on a silent bus unreachable with one bus_down, back up on their heartbeats', () => {
    const rig = new Rig();
    rig.beat(0, 0x21, hb(0));
    rig.beat(0, 0x22, hb(0));
    rig.beat(0, 0x40, hb(0)); // on another bus
    const out = rig.at(500_000, { type: 'bus_silent', bus: 'can0', devices: [0x21, 0x22, 0x99] });
    expect(out.filter((e) => e.kind === 'bus_down')).toEqual([
      { kind: 'bus_down', bus: 'can0', atUs: 500_000, devices: [0x21, 0x22] },
    ]);
    rig.advance(10 * S);
    expect(rig.states(0x21)).toEqual(['unknown>up', 'up>unreachable']);
    expect(rig.states(0x40)).toEqual(['unknown>up', 'up>suspect', 'suspect>down']);
    rig.beat(11 * S, 0x21, hb(11_000));
    expect(rig.states(0x21).at(-1)).toBe('unreachable>up');
  });

  it('forgets a device', () => {
    const rig = new Rig();
    rig.beat(0, DEV, hb(0));
    const out = rig.at(1, { type: 'forget', device: DEV });
    expect(out).toEqual([]);
    expect(rig.mon.snapshot()).toEqual([]);
    expect(rig.wake).toBeUndefined();
  });
});
