import { referenceBoard } from '@mcubus/firmware-sim';
import { describe, expect, it } from 'vitest';
import { largeBoard } from './boards.js';
import { BIT_ERROR_MAX, LOSS_MAX, planSoak, QUIET_TAIL_MS } from './schedule.js';

describe('soak fault schedule', () => {
  it('is a function of the seed: the same seed gives the same plan, another seed another', () => {
    const a = planSoak(7, 1, referenceBoard());
    expect(planSoak(7, 1, referenceBoard())).toEqual(a);
    expect(planSoak(8, 1, referenceBoard()).events).not.toEqual(a.events);
  });

  it('draws every kind at its hourly rate, campaigns every 10 minutes, and stays out of the quiet tail', () => {
    const p = planSoak(3, 1, largeBoard());
    const kinds: Record<string, number> = {};
    for (const e of p.events) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
    // Campaigns at 20 s, 10:20 … 50:20 (none in the last 6 minutes), each with a gateway reboot and
    // an armed flash power cut; expect_down only for power cycles long enough to be detected.
    expect(kinds).toMatchObject({
      campaign: 6,
      gateway_reboot: 6,
      flash_power_cut: 6,
      crash: 6,
      hang: 6,
      power_cycle: 4,
      daemon_restart: 3,
    });
    expect(kinds.expect_down ?? 0).toBeLessThanOrEqual(4);
    expect(p.events.map((e) => e.atMs)).toEqual([...p.events.map((e) => e.atMs)].sort((x, y) => x - y));
    expect(p.quietFromMs).toBe(3600_000 - QUIET_TAIL_MS);
    for (const e of p.events) expect(e.atMs).toBeLessThan(p.quietFromMs);
    const gws = new Set(['gw0', 'gw1', 'gw2']);
    for (const e of p.events) if (e.kind === 'gateway_reboot') expect(gws.has(e.mcu)).toBe(true);
    expect(p.episodes).toHaveLength(6);
    for (const ep of p.episodes) {
      expect(ep.drop).toBeLessThanOrEqual(LOSS_MAX);
      expect(ep.untilMs).toBeLessThanOrEqual(p.quietFromMs);
    }
  });

  it('puts the impairments on the buses: bit errors on lines, reordering on CAN, episodes as windows', () => {
    const p = planSoak(5, 0.5, referenceBoard());
    const bus = (name: string) => p.spec.buses.find((b) => b.name === name)!;
    for (const name of ['uart0', 'rs485']) {
      const b = bus(name);
      if (b.kind === 'can') throw new Error('not a line');
      expect(b.bitErrorRate).toBeGreaterThanOrEqual(0);
      expect(b.bitErrorRate).toBeLessThanOrEqual(BIT_ERROR_MAX);
    }
    const can = bus('can0');
    expect(can.faults?.[0]?.reorder).toBeGreaterThanOrEqual(0);
    // Background rule + one rule per episode on that bus, each bounded by its window (in ns).
    const episodes = p.episodes.filter((e) => e.bus === 'can0');
    expect(can.faults).toHaveLength(1 + episodes.length);
    episodes.forEach((e, i) => {
      expect(can.faults?.[1 + i]).toMatchObject({
        from: e.fromMs * 1e6,
        until: e.untilMs * 1e6,
        drop: e.drop,
      });
    });
  });

  it('gives a short run at least one fault of each kind', () => {
    const kinds = new Set(planSoak(1, 0.1, referenceBoard()).events.map((e) => e.kind));
    for (const k of [
      'crash',
      'hang',
      'power_cycle',
      'daemon_restart',
      'campaign',
      'gateway_reboot',
      'flash_power_cut',
    ])
      expect(kinds.has(k as never), k).toBe(true);
  });
});
