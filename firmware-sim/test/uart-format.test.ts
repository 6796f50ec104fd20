import { modbus } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import {
  bitsPerChar,
  byteTimeNs,
  describeLineFormat,
  type LineFormat,
  lineFormat,
  validateLineFormat,
} from '../src/links/uart-format.js';

describe('line format', () => {
  it('counts start + data + parity + stop bits', () => {
    expect(bitsPerChar(lineFormat(115200, '8N1'))).toBe(10);
    expect(bitsPerChar(lineFormat(9600, '8E1'))).toBe(11);
    expect(bitsPerChar(lineFormat(9600, '8O2'))).toBe(12);
    expect(bitsPerChar(lineFormat(9600, '7E2'))).toBe(11);
    expect(bitsPerChar(lineFormat(9600, '7N1'))).toBe(9);
    expect(bitsPerChar(lineFormat(9600, '8N2'))).toBe(11);
  });

  it('gives 86 805.6 ns a byte at 115200 8N1, so 1000 bytes take 86.8 ms', () => {
    const t = byteTimeNs(lineFormat(115200));
    expect(t).toBeCloseTo(86_805.556, 2);
    expect(1000 * t).toBeCloseTo(86_805_555.6, 0);
  });

  it('gives 1.1458 ms a byte at 9600 8E1 and 1.25 ms at 9600 8O2', () => {
    expect(byteTimeNs(lineFormat(9600, '8E1'))).toBeCloseTo(1_145_833.333, 2);
    expect(byteTimeNs(lineFormat(9600, '8O2'))).toBeCloseTo(1_250_000, 6);
  });

  it('agrees with the protocol package’s Modbus character time', () => {
    for (const [baud, spec] of [
      [9600, '8E1'],
      [19200, '8N2'],
      [115200, '8O1'],
    ] as const) {
      const f = lineFormat(baud, spec);
      const t = modbus.rtuTiming(baud, { parity: f.parity, stopBits: f.stopBits });
      expect(byteTimeNs(f)).toBeCloseTo(t.charTimeUs * 1000, 6);
    }
  });

  it('parses the shorthand into fields and prints it back', () => {
    expect(lineFormat(19200, '7O2')).toEqual({ baud: 19200, dataBits: 7, parity: 'odd', stopBits: 2 });
    expect(describeLineFormat(lineFormat(19200, '8E1'))).toBe('19200 8E1');
  });

  it('refuses impossible formats', () => {
    const ok: LineFormat = { baud: 9600, dataBits: 8, parity: 'none', stopBits: 1 };
    expect(() => validateLineFormat({ ...ok, baud: 0 })).toThrow(RangeError);
    expect(() => validateLineFormat({ ...ok, baud: Number.NaN })).toThrow(RangeError);
    expect(() => validateLineFormat({ ...ok, dataBits: 9 as 8 })).toThrow(RangeError);
    expect(() => validateLineFormat({ ...ok, parity: 'mark' as 'odd' })).toThrow(RangeError);
    expect(() => validateLineFormat({ ...ok, stopBits: 3 as 1 })).toThrow(RangeError);
    expect(() => validateLineFormat(ok)).not.toThrow();
  });
});
