import { modbus } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { ClockEstimator } from '../src/time/clock-estimator.js';
import { modbusTimeAsymmetryUs } from '../src/transports/modbus/time-asymmetry.js';

/**
 * A path whose quickest exchange is not symmetric (Modbus RTU: the slave sees a request's end only
 * after 3.5 characters of silence) moves the estimate off by half the difference however many
 * exchanges there are; the bus's asymmetry allowance keeps the bound true (found by the soak).
 */
const OFFSET = 5_000_000;
const OUT_US = 1793; // measured in the soak at 19 200 baud: out, back
const BACK_US = 212;

/** Exchanges at the estimator's own pace for `seconds`, with this fixed floor; returns the estimator. */
function run(asymmetryUs: number, seconds: number): ClockEstimator {
  const est = new ClockEstimator({});
  est.asymmetryUs = asymmetryUs;
  for (let t = 0; t < seconds * 1e6; t += est.periodUs) {
    const t2 = OFFSET + t + OUT_US;
    est.addExchange({ t1: t, t2, t3: t2 + 100, t4: t + OUT_US + 100 + BACK_US });
  }
  return est;
}

describe('the time-sync asymmetry allowance', () => {
  it('is half of t3.5 on Modbus RTU: 1003 µs at 19 200 baud, 875 µs above it', () => {
    expect(modbusTimeAsymmetryUs(modbus.rtuTiming(19_200))).toBe(1003);
    expect(modbusTimeAsymmetryUs(modbus.rtuTiming(115_200))).toBe(875);
  });

  it('without it the bound shrinks below the error; with it the bound holds, and only the bound moves', () => {
    const at = 200e6;
    const bare = run(0, 200);
    const error = Math.abs(bare.offsetAt(at) - OFFSET);
    expect(error).toBeGreaterThan(700); // (1793 − 212) / 2 = 790 µs, whatever the count of exchanges
    expect(bare.boundAt(at)).toBeLessThan(error);

    const allowed = run(1003, 200);
    expect(Math.abs(allowed.offsetAt(at) - OFFSET)).toBeCloseTo(error, 0);
    expect(allowed.boundAt(at)).toBeGreaterThanOrEqual(error);
    expect(allowed.boundAt(at) - bare.boundAt(at)).toBeCloseTo(1003, 6);
    // The pace of the exchanges does not chase what they cannot improve.
    expect(allowed.periodUs).toBe(bare.periodUs);
  });
});
