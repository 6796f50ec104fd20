import { describe, expect, it } from 'vitest';
import { type TimeEvent, type TimeOutput, TimeService } from '../src/time/time-service.js';

/** device(t) = offset + t·(1 + ppm·1e-6), a 64-bit µs counter. */
const clock = (offset: number, ppm: number) => (t: number) => Math.floor(offset + t * (1 + ppm * 1e-6));

const GW = 0x10;
const NODE = 0x21;

/**
 * Drives a TimeService like the daemon does, answering its exchanges at once with exact stamps
 * (1 ms each way) from the given device clocks.
 */
class Harness {
  now = 0;
  readonly events: TimeEvent[] = [];
  readonly sent: { device: number; t1: number }[] = [];
  readonly svc = new TimeService();
  constructor(readonly clocks: Map<number, (t: number) => number>) {}

  apply(out: TimeOutput): TimeOutput {
    this.events.push(...out.events);
    for (const x of out.exchanges) {
      this.sent.push(x);
      const c = this.clocks.get(x.device);
      if (!c) continue; // silent device
      const t2 = c(this.now + 1000);
      const t3 = c(this.now + 1100);
      this.apply(this.svc.handle({ type: 'sent', device: x.device, t1: x.t1, txUs: this.now }, this.now));
      this.apply(
        this.svc.handle(
          { type: 'answer', device: x.device, body: { t1: x.t1, t2, t3 }, rxUs: this.now + 2100 },
          this.now,
        ),
      );
    }
    return out;
  }

  /** Advances to `to` µs, ticking whenever the service asked to be woken. */
  runTo(to: number): void {
    let next = this.apply(this.svc.handle({ type: 'tick' }, this.now)).wakeAt;
    while (next !== undefined && next <= to) {
      this.now = Math.max(this.now, next);
      next = this.apply(this.svc.handle({ type: 'tick' }, this.now)).wakeAt;
    }
    this.now = to;
  }
}

describe('TimeService', () => {
  it('times a directly attached device and places its timestamps on the host timeline', () => {
    const dev = clock(4_000_000, 55);
    const h = new Harness(new Map([[GW, dev]]));
    h.apply(h.svc.handle({ type: 'device', device: GW, counterBits: 64, via: null, rebooted: false }, 0));
    h.runTo(30e6);
    const r = h.svc.hostOf(GW, dev(29.5e6), h.now)!;
    expect(Math.abs(r.hostUs - 29.5e6)).toBeLessThan(3);
    expect(r.epoch).toBe(1);
    const [view] = h.svc.snapshot(h.now);
    expect(view).toMatchObject({ device: GW, method: 'direct', synced: true, epoch: 1 });
    expect(view!.skewPpm).toBeCloseTo(55, 2);
    expect(h.events).toContainEqual(
      expect.objectContaining({ kind: 'synced', device: GW, method: 'direct' }),
    );
  });

  it('completes a two-step exchange when the follow-up brings t3', () => {
    const h = new Harness(new Map());
    const out = h.svc.handle({ type: 'device', device: GW, counterBits: 64, via: null, rebooted: false }, 0);
    const [x] = out.exchanges;
    expect(x).toEqual({ device: GW, t1: 0 });
    h.svc.handle({ type: 'answer', device: GW, body: { t1: 0, t2: 5000 }, rxUs: 2100 }, 2200);
    expect(h.svc.estimatorOf(GW)!.counters.samples).toBe(0);
    h.svc.handle({ type: 'followup', device: GW, body: { t1: 0, t3: 5100 } }, 2300);
    expect(h.svc.estimatorOf(GW)!.counters.samples).toBe(1);
  });

  it('counts exchanges that never came back and keeps asking', () => {
    const h = new Harness(new Map());
    h.apply(h.svc.handle({ type: 'device', device: GW, counterBits: 64, via: null, rebooted: false }, 0));
    h.runTo(10e6);
    const [view] = h.svc.snapshot(h.now);
    expect(view!.counters.failed).toBeGreaterThanOrEqual(4);
    expect(h.sent.length).toBe(view!.counters.failed + 1);
    expect(view!.synced).toBe(false);
  });

  it('starts a new epoch when a device reboots, once per reboot', () => {
    const dev = clock(0, 10);
    const h = new Harness(new Map([[GW, dev]]));
    h.apply(h.svc.handle({ type: 'device', device: GW, counterBits: 32, via: null, rebooted: false }, 0));
    h.runTo(20e6);
    h.apply(h.svc.handle({ type: 'device', device: GW, counterBits: 32, via: null, rebooted: true }, h.now));
    // One exchange of the new epoch so far: no mapping yet, the old one is gone.
    expect(h.svc.hostOf(GW, dev(h.now), h.now)).toBeNull();
    // The health monitor notices the same reset a heartbeat later: not a second epoch.
    h.apply(h.svc.handle({ type: 'rebooted', device: GW }, h.now + 500_000));
    expect(h.events.filter((e) => e.kind === 'epoch')).toEqual([
      { kind: 'epoch', device: GW, epoch: 2, reason: 'rebooted' },
    ]);
    h.runTo(40e6);
    expect(h.svc.hostOf(GW, dev(39e6), h.now)?.epoch).toBe(2);
    // A reset seen long after the last epoch began is a new reboot.
    h.apply(h.svc.handle({ type: 'rebooted', device: GW }, h.now));
    expect(h.svc.epochOf(GW)).toBe(3);
  });

  it("tells one reboot from the next by the device's uptime, however late the heartbeat shows it", () => {
    const h = new Harness(new Map([[GW, clock(0, 10)]]));
    h.apply(h.svc.handle({ type: 'device', device: GW, counterBits: 32, via: null, rebooted: false }, 0));
    h.runTo(20e6);
    h.apply(h.svc.handle({ type: 'device', device: GW, counterBits: 32, via: null, rebooted: true }, 20e6));
    // The first heartbeat after that boot came 7 s later (some were lost): its uptime dates the boot
    // just before the epoch began — the same reboot.
    h.apply(h.svc.handle({ type: 'rebooted', device: GW, bootedAtUs: 19.98e6 }, 27e6));
    expect(h.svc.epochOf(GW)).toBe(2);
    // A boot after the epoch began is a new reboot, even soon after.
    h.apply(h.svc.handle({ type: 'rebooted', device: GW, bootedAtUs: 28e6 }, 29e6));
    expect(h.svc.epochOf(GW)).toBe(3);
  });

  it('composes a node behind a gateway from the gateway clock and its TIME_MAP', () => {
    const gw = clock(7_000_000, 40);
    const node = clock(900_000_000, -60);
    const h = new Harness(new Map([[GW, gw]]));
    h.apply(h.svc.handle({ type: 'device', device: GW, counterBits: 64, via: null, rebooted: false }, 0));
    h.apply(h.svc.handle({ type: 'device', device: NODE, counterBits: 64, via: GW, rebooted: false }, 0));
    // Within the 15 s it waits for the gateway's first map, the node gets no exchanges of its own.
    h.runTo(14e6);
    expect(h.sent.every((x) => x.device === GW)).toBe(true);
    expect(h.svc.hostOf(NODE, node(13e6), h.now)).toBeNull();
    // The gateway's report: node − gateway at gateway time `at`, and their rate difference.
    const t = 13.5e6;
    const at = gw(t);
    const body = {
      node: NODE,
      at,
      offsetUs: node(t) - gw(t),
      skewPpb: Math.round(((1 - 60e-6) / (1 + 40e-6) - 1) * 1e9),
      errorBoundUs: 4,
      samples: 8,
    };
    h.apply(h.svc.handle({ type: 'time_map', gateway: GW, body }, h.now));
    const r = h.svc.hostOf(NODE, node(13.8e6), h.now)!;
    expect(Math.abs(r.hostUs - 13.8e6)).toBeLessThan(5);
    expect(r.boundUs).toBeGreaterThanOrEqual(4);
    const view = h.svc.snapshot(h.now).find((v) => v.device === NODE)!;
    expect(view).toMatchObject({ method: 'via_gateway', gateway: GW, synced: true, samplesUsed: 8 });
    expect(view.skewPpm).toBeCloseTo(-60, 1);
    // A map about the node from some other device does not count.
    h.apply(h.svc.handle({ type: 'time_map', gateway: 0x30, body: { ...body, offsetUs: 0 } }, h.now));
    expect(Math.abs(h.svc.hostOf(NODE, node(13.8e6), h.now)!.hostUs - 13.8e6)).toBeLessThan(5);

    // The gateway reboots: its maps described a clock epoch that is gone.
    h.apply(h.svc.handle({ type: 'device', device: GW, counterBits: 64, via: null, rebooted: true }, h.now));
    expect(h.svc.hostOf(NODE, node(h.now), h.now)).toBeNull();
  });

  it('times a node through its gateway directly when no map comes', () => {
    const node = clock(1_000_000, 25);
    const h = new Harness(new Map([[NODE, node]]));
    h.apply(h.svc.handle({ type: 'device', device: NODE, counterBits: 64, via: GW, rebooted: false }, 0));
    h.runTo(14e6);
    expect(h.sent).toEqual([]);
    h.runTo(40e6);
    expect(h.sent.length).toBeGreaterThan(10);
    const view = h.svc.snapshot(h.now)[0]!;
    expect(view.method).toBe('direct_through_gateway');
    expect(Math.abs(h.svc.hostOf(NODE, node(39e6), h.now)!.hostUs - 39e6)).toBeLessThan(3);
  });
});
