import { describe, expect, it } from 'vitest';
import { aduTimeUs, responseTimeoutUs, rtuTiming } from '../src/modbus/index.js';

describe('rtuTiming', () => {
  it('at 9600 8E1: 11-bit characters of 1145.8 µs, t1.5 1718.75 µs, t3.5 ≈ 4010 µs', () => {
    const t = rtuTiming(9600, { parity: 'even', stopBits: 1 });
    expect(t.charTimeUs).toBeCloseTo(1145.833, 3);
    expect(t.t15Us).toBeCloseTo(1718.75, 3);
    expect(t.t35Us).toBeCloseTo(4010.417, 3);
  });

  it('defaults to 8E1', () => {
    expect(rtuTiming(9600)).toEqual(rtuTiming(9600, { parity: 'even', stopBits: 1 }));
  });

  it('counts 11 bits for 8N2 and 8O1, 10 bits for 8N1, 12 for 8E2', () => {
    expect(rtuTiming(9600, { parity: 'none', stopBits: 2 }).charTimeUs).toBeCloseTo((11 * 1e6) / 9600, 6);
    expect(rtuTiming(9600, { parity: 'odd', stopBits: 1 }).charTimeUs).toBeCloseTo((11 * 1e6) / 9600, 6);
    expect(rtuTiming(9600, { parity: 'none', stopBits: 1 }).charTimeUs).toBeCloseTo((10 * 1e6) / 9600, 6);
    expect(rtuTiming(9600, { parity: 'even', stopBits: 2 }).charTimeUs).toBeCloseTo((12 * 1e6) / 9600, 6);
  });

  it('scales t1.5 and t3.5 up to 19200 baud', () => {
    const t = rtuTiming(19200);
    expect(t.t15Us).toBeCloseTo(859.375, 3);
    expect(t.t35Us).toBeCloseTo(2005.208, 3);
  });

  it('fixes t1.5 = 750 µs and t3.5 = 1750 µs above 19200 baud', () => {
    const t = rtuTiming(115200);
    expect(t.charTimeUs).toBeCloseTo(95.486, 3);
    expect(t.t15Us).toBe(750);
    expect(t.t35Us).toBe(1750);
    expect(rtuTiming(38400, { parity: 'none', stopBits: 1 })).toMatchObject({ t15Us: 750, t35Us: 1750 });
  });

  it('refuses baud rates that are not positive and odd stop bits', () => {
    expect(() => rtuTiming(0)).toThrow(RangeError);
    expect(() => rtuTiming(Number.NaN)).toThrow(RangeError);
    expect(() => rtuTiming(9600, { parity: 'none', stopBits: 3 as 1 })).toThrow(RangeError);
  });
});

describe('aduTimeUs and responseTimeoutUs', () => {
  it('gives a 256-byte ADU at 9600 8E1 about 293 ms on the wire', () => {
    expect(aduTimeUs(256, rtuTiming(9600))).toBeCloseTo(293_333.33, 1);
    expect(aduTimeUs(8, rtuTiming(115200))).toBeCloseTo(763.89, 1);
  });

  it('gives a 0x41 poll at 115200 8E1 about 76.2 ms (the spec example)', () => {
    expect(responseTimeoutUs(rtuTiming(115200), 256)).toBeCloseTo(76_194.4, 1);
  });

  it('adds t3.5, processing allowance, the response time on the wire and latency', () => {
    const t = rtuTiming(115200);
    expect(responseTimeoutUs(t, 5)).toBeCloseTo(1750 + 50_000 + 5 * t.charTimeUs, 6);
    expect(responseTimeoutUs(t, 256, { processingUs: 10_000, latencyUs: 16_000 })).toBeCloseTo(
      1750 + 10_000 + 256 * t.charTimeUs + 16_000,
      6,
    );
  });
});
