import { Prng } from '@mcubus/firmware-sim';
import { describe, expect, it } from 'vitest';
import {
  ClockEstimator,
  type ClockEstimatorConfig,
  type EstimatorEvent,
} from '../src/time/clock-estimator.js';
import { counterDelta, unwrapNear } from '../src/time/counter.js';

/**
 * A device clock for the estimator alone: device(t) = offset + t·(1 + ppm·1e-6) + jumps, read as a
 * `bits`-wide µs counter; exchanges with symmetric wire time and optional one-sided receive jitter.
 */
class FakeDevice {
  jumpUs = 0;
  constructor(
    readonly offsetUs: number,
    readonly ppm: number,
    readonly bits: number,
  ) {}
  trueUs(t: number): number {
    return this.offsetUs + t * (1 + this.ppm * 1e-6) + this.jumpUs;
  }
  read(t: number): number {
    const v = Math.floor(this.trueUs(t));
    return this.bits >= 53 ? v : ((v % 2 ** this.bits) + 2 ** this.bits) % 2 ** this.bits;
  }
}

function exchange(est: ClockEstimator, dev: FakeDevice, t: number, rxJitterUs = 0, wireUs = 1500) {
  const t2 = dev.read(t + wireUs);
  const t3 = dev.read(t + wireUs + 300);
  return est.addExchange({ t1: t, t2, t3, t4: t + 2 * wireUs + 300 + rxJitterUs });
}

/** Runs exchanges at the estimator's own pace from `from` to `to` (µs); returns every event. */
function run(
  est: ClockEstimator,
  dev: FakeDevice,
  from: number,
  to: number,
  jitter: () => number = () => 0,
): EstimatorEvent[] {
  const events: EstimatorEvent[] = [];
  let t = from;
  while (t < to) {
    events.push(...exchange(est, dev, t, jitter()).events);
    t = est.nextExchangeAt(t);
  }
  return events;
}

function errorAt(est: ClockEstimator, dev: FakeDevice, t: number): { error: number; bound: number } {
  const r = est.hostOf(est.unwrap(dev.read(t), t));
  if (!r) throw new Error('no mapping');
  return { error: Math.abs(r.hostUs - t), bound: r.boundUs };
}

describe('counter unwrapping', () => {
  it('extends a wrapped reading to the value nearest the reference', () => {
    expect(unwrapNear(5, 2 ** 32 - 10, 32)).toBe(2 ** 32 + 5);
    expect(unwrapNear(2 ** 32 - 10, 2 ** 32 + 5, 32)).toBe(2 ** 32 - 10);
    expect(unwrapNear(100, 3 * 2 ** 16 + 90, 16)).toBe(3 * 2 ** 16 + 100);
    expect(unwrapNear(123, 999, 64)).toBe(123);
  });

  it('takes differences modulo the width, signed', () => {
    expect(counterDelta(5, 2 ** 32 - 5, 32)).toBe(10);
    expect(counterDelta(2 ** 32 - 5, 5, 32)).toBe(-10);
    expect(counterDelta(10, 3, 64)).toBe(7);
  });
});

describe('ClockEstimator', () => {
  it('finds offset and skew from exact stamps, with a bound that holds', () => {
    const dev = new FakeDevice(987_654_321, 73.5, 64);
    const est = new ClockEstimator();
    run(est, dev, 0, 120e6);
    const m = est.mapping!;
    expect(m.skew * 1e6).toBeCloseTo(73.5, 2);
    for (const t of [120.05e6, 120.2e6]) {
      const { error, bound } = errorAt(est, dev, t);
      expect(error).toBeLessThan(2);
      expect(error).toBeLessThanOrEqual(bound);
    }
  });

  it('keeps the error far below the jitter when the receive path jitters by up to 2 ms', () => {
    const rng = new Prng('jitter');
    const dev = new FakeDevice(5_000_000, -42, 64);
    const est = new ClockEstimator();
    run(est, dev, 0, 180e6, () => rng.range(0, 2000));
    let worst = 0;
    for (let t = 180e6; t < 181e6; t += 100_000) {
      const { error, bound } = errorAt(est, dev, t);
      worst = Math.max(worst, error);
      expect(error).toBeLessThanOrEqual(bound);
    }
    // Half the mean one-sided jitter (what one exchange would give) is 500 µs.
    expect(worst).toBeLessThan(50);
    expect(Math.abs(est.mapping!.skew * 1e6 + 42)).toBeLessThan(0.5);
  });

  it('follows a 24-bit counter through hundreds of wrap-arounds', () => {
    // 2^24 µs ≈ 16.8 s: ten minutes wrap it 35 times; exchanges come every 0.1–16 s.
    const dev = new FakeDevice(2 ** 24 - 3_000_000, 20, 24);
    const est = new ClockEstimator({ counterBits: 24, maxPeriodUs: 4_000_000 });
    const events = run(est, dev, 0, 600e6);
    expect(events.filter((e) => e.kind === 'jump')).toEqual([]);
    expect(est.counters.outliers).toBe(0);
    for (const t of [600e6, 600.5e6, 601e6]) expect(errorAt(est, dev, t).error).toBeLessThan(2);
  });

  it('places a 32-bit reading taken just after the wrap next to one taken just before', () => {
    // The counter wraps 2 s into the run.
    const dev = new FakeDevice(2 ** 32 - 2_000_000, 0, 32);
    const est = new ClockEstimator({ counterBits: 32 });
    run(est, dev, 0, 1.9e6);
    const before = est.hostOf(est.unwrap(dev.read(1.95e6), 1.95e6))!;
    run(est, dev, 1.9e6, 3e6);
    const after = est.hostOf(est.unwrap(dev.read(2.05e6), 3e6))!;
    expect(dev.read(2.05e6)).toBeLessThan(100_000);
    expect(after.hostUs - before.hostUs).toBeCloseTo(100_000, -1);
  });

  it('rejects one wild exchange as an outlier and keeps its estimate', () => {
    const dev = new FakeDevice(0, 10, 64);
    const est = new ClockEstimator();
    run(est, dev, 0, 30e6);
    dev.jumpUs = 5000;
    const r = exchange(est, dev, 30.1e6);
    dev.jumpUs = 0;
    expect(r.accepted).toBe(false);
    expect(r.events.map((e) => e.kind)).toEqual(['outlier']);
    const events = run(est, dev, 30.2e6, 40e6);
    expect(events.some((e) => e.kind === 'jump')).toBe(false);
    expect(est.counters.outliers).toBe(1);
    expect(errorAt(est, dev, 40e6).error).toBeLessThan(2);
  });

  it('detects a clock jump, reports it and re-converges', () => {
    const dev = new FakeDevice(1_000_000, -15, 64);
    const est = new ClockEstimator();
    run(est, dev, 0, 60e6);
    dev.jumpUs = 20_000;
    const events = run(est, dev, 60e6, 75e6);
    const jumps = events.filter((e) => e.kind === 'jump');
    expect(jumps).toHaveLength(1);
    expect((jumps[0] as { deltaUs: number }).deltaUs).toBeGreaterThan(19_900);
    expect((jumps[0] as { deltaUs: number }).deltaUs).toBeLessThan(20_100);
    expect(est.counters.jumps).toBe(1);
    const { error, bound } = errorAt(est, dev, 75e6);
    expect(error).toBeLessThan(5);
    expect(error).toBeLessThanOrEqual(bound);
  });

  it('refuses exchanges whose device stamps run backwards', () => {
    const est = new ClockEstimator();
    const r = est.addExchange({ t1: 1000, t2: 5000, t3: 4000, t4: 3000 });
    expect(r).toEqual({
      accepted: false,
      events: [{ kind: 'rejected', reason: 'negative_rtt', atUs: 2000 }],
    });
    expect(est.counters.rejected).toBe(1);
    expect(est.mapping).toBeNull();
  });

  it('backs off on a quiet path and stays fast on a jittery one', () => {
    const quiet = new ClockEstimator();
    run(quiet, new FakeDevice(0, 30, 64), 0, 200e6);
    expect(quiet.periodUs).toBeGreaterThan(2_000_000);
    const rng = new Prng('busy');
    const busy = new ClockEstimator();
    run(busy, new FakeDevice(0, 30, 64), 0, 200e6, () => rng.range(0, 2000));
    expect(busy.periodUs).toBe(250_000);
  });

  it('exchanges faster while acquiring, then at its own pace', () => {
    const config: ClockEstimatorConfig = { acquisitionUs: 10e6, acquisitionPeriodUs: 100_000 };
    const est = new ClockEstimator(config);
    run(est, new FakeDevice(0, 30, 64), 0, 5e6);
    expect(est.periodUs).toBe(100_000);
    run(est, new FakeDevice(0, 30, 64), 5e6, 30e6);
    expect(est.periodUs).toBeGreaterThan(100_000);
  });

  it('forgets everything on reset (a new epoch)', () => {
    const est = new ClockEstimator();
    run(est, new FakeDevice(0, 30, 64), 0, 5e6);
    expect(est.mapping).not.toBeNull();
    est.reset();
    expect(est.mapping).toBeNull();
    expect(est.hostOf(123)).toBeNull();
    expect(est.boundAt(0)).toBe(Number.POSITIVE_INFINITY);
  });
});
