import { describe, expect, it } from 'vitest';
import { Prng } from '../src/kernel/prng.js';
import { NS_PER_S } from '../src/kernel/scheduler.js';
import { DeviceClock } from '../src/mcu/clock.js';

const HOUR = 3600 * NS_PER_S;

describe('simulated device clock', () => {
  it('runs fast or slow by its skew and starts at its offset', () => {
    const c = new DeviceClock({ offsetUs: 5_000_000, skewPpm: 100, counterBits: 64 }, new Prng(1));
    expect(c.readUs(0)).toBe(5_000_000);
    // 100 ppm fast: 100 µs gained per second.
    expect(c.readUs(10 * NS_PER_S)).toBe(5_000_000 + 10_000_000 + 1_000);
  });

  it('wraps at 2^bits µs, as a 32-bit microsecond counter does every 71.6 minutes', () => {
    const c = new DeviceClock({ offsetUs: 2 ** 32 - 1_000_000, counterBits: 32 }, new Prng(1));
    expect(c.readUs(0)).toBe(2 ** 32 - 1_000_000);
    expect(c.readUs(2 * NS_PER_S)).toBe(1_000_000);
  });

  it('truncates readings to its tick resolution', () => {
    const c = new DeviceClock({ resolutionNs: 125_000, counterBits: 64 }, new Prng(1));
    expect(c.readUs(1_000_000)).toBe(1000);
    expect(c.readUs(1_124_999)).toBe(1000);
    expect(c.readUs(1_125_000)).toBe(1125);
  });

  it('drifts by a random walk whose size follows the configured ppm per √hour', () => {
    const spreads: number[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const c = new DeviceClock({ skewPpm: 0, driftPpmPerSqrtHour: 2 }, new Prng(seed));
      spreads.push(c.ratePpmAt(HOUR));
    }
    const rms = Math.sqrt(spreads.reduce((s, x) => s + x * x, 0) / spreads.length);
    expect(rms).toBeGreaterThan(1.6);
    expect(rms).toBeLessThan(2.4);
  });

  it('gives the same readings whether it is read often or rarely (reads never perturb a run)', () => {
    const often = new DeviceClock({ skewPpm: 20, driftPpmPerSqrtHour: 3 }, new Prng(9));
    const rarely = new DeviceClock({ skewPpm: 20, driftPpmPerSqrtHour: 3 }, new Prng(9));
    for (let t = 0; t < HOUR; t += 7 * NS_PER_S) often.readUs(t);
    expect(often.deviceNsAt(HOUR)).toBe(rarely.deviceNsAt(HOUR));
  });

  it('jumps when the fault says so, and keeps its rate', () => {
    const c = new DeviceClock({ counterBits: 64 }, new Prng(1));
    const before = c.readUs(NS_PER_S);
    c.jump(-250_000);
    expect(c.readUs(2 * NS_PER_S)).toBe(before + 1_000_000 - 250_000);
  });
});
