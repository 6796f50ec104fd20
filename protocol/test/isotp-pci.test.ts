import { describe, expect, it } from 'vitest';
import {
  decodePci,
  decodeStMin,
  encodeConsecutiveFrame,
  encodeFirstFrame,
  encodeFlowControl,
  encodeSingleFrame,
  encodeStMin,
  type Pci,
} from '../src/isotp/index.js';

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex').toUpperCase();
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const seq = (n: number, from = 1) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

function decoded(h: string, fd = false): Pci {
  const r = decodePci(bytes(h), fd);
  if (!r.ok) throw new Error(`expected ${h} to decode, got ${r.error.code}`);
  return r.value;
}

function errorOf(h: string, fd = false): string {
  const r = decodePci(bytes(h), fd);
  return r.ok ? 'ok' : r.error.code;
}

describe('single frame', () => {
  it('encodes the short form 0x0N', () => {
    expect(hex(encodeSingleFrame(seq(1), 8))).toBe('0101');
    expect(hex(encodeSingleFrame(seq(7), 8))).toBe('0701020304050607');
    expect(hex(encodeSingleFrame(seq(7), 64))).toBe('0701020304050607');
  });

  it('encodes the FD escape form 0x00 LL for 8..62 bytes', () => {
    expect(hex(encodeSingleFrame(seq(8), 64))).toBe('00080102030405060708');
    expect(hex(encodeSingleFrame(seq(62), 64)).slice(0, 8)).toBe('003E0102');
    expect(encodeSingleFrame(seq(62), 64).length).toBe(64);
    expect(hex(encodeSingleFrame(seq(10), 12))).toBe('000A0102030405060708090A');
  });

  it('refuses what does not fit', () => {
    expect(() => encodeSingleFrame(seq(8), 8)).toThrow(RangeError);
    expect(() => encodeSingleFrame(seq(63), 64)).toThrow(RangeError);
    expect(() => encodeSingleFrame(new Uint8Array(0), 8)).toThrow(RangeError);
  });

  it('decodes both forms and ignores padding', () => {
    expect(decoded('03AABBCCCCCCCCCC')).toEqual({ type: 'single', length: 3, data: bytes('AABBCC') });
    expect(decoded('03AABBCC')).toEqual({ type: 'single', length: 3, data: bytes('AABBCC') });
    const fd = decoded(`0008${hex(seq(8))}CCCC`, true);
    expect(fd).toEqual({ type: 'single', length: 8, data: seq(8) });
  });

  it('rejects bad single frame lengths', () => {
    expect(errorOf('00CCCCCCCCCCCCCC')).toBe('invalid_length'); // SF_DL 0 in a short frame
    expect(errorOf('0801020304050607')).toBe('invalid_length'); // classic SF carries at most 7
    expect(errorOf('0401020304')).toBe('ok');
    expect(errorOf('05010203')).toBe('invalid_length'); // announces more than the frame holds
    expect(errorOf(`0508${hex(seq(10))}`, true)).toBe('invalid_length'); // short form in a 12-byte frame
    expect(errorOf(`000B${hex(seq(10))}`, true)).toBe('invalid_length'); // 11 bytes cannot fit 12 - 2
    expect(errorOf(`0000${hex(seq(10))}`, true)).toBe('invalid_length');
  });
});

describe('first frame', () => {
  it('encodes the 12-bit length form and fills the frame', () => {
    const ff = encodeFirstFrame(seq(20), 8);
    expect(hex(ff.bytes)).toBe('1014010203040506');
    expect(ff.consumed).toBe(6);
    const big = encodeFirstFrame(seq(4095), 8);
    expect(hex(big.bytes)).toBe('1FFF010203040506');
  });

  it('encodes the FD first frame over 62 bytes', () => {
    const ff = encodeFirstFrame(seq(63), 64);
    expect(ff.bytes.length).toBe(64);
    expect(hex(ff.bytes.subarray(0, 4))).toBe('103F0102');
    expect(ff.consumed).toBe(62);
  });

  it('encodes the 32-bit escape form above 4095 bytes', () => {
    const ff = encodeFirstFrame(seq(4096), 8);
    expect(hex(ff.bytes)).toBe('1000000010000102');
    expect(ff.consumed).toBe(2);
    const fd = encodeFirstFrame(seq(70000), 64);
    expect(hex(fd.bytes.subarray(0, 8))).toBe('1000000111700102');
    expect(fd.consumed).toBe(58);
  });

  it('refuses messages that fit a single frame', () => {
    expect(() => encodeFirstFrame(seq(7), 8)).toThrow(RangeError);
    expect(() => encodeFirstFrame(seq(62), 64)).toThrow(RangeError);
  });

  it('decodes both forms', () => {
    expect(decoded('1014010203040506')).toEqual({ type: 'first', length: 20, data: seq(6) });
    expect(decoded('1000000010000102')).toEqual({ type: 'first', length: 4096, data: bytes('0102') });
  });

  it('rejects lengths a single frame would carry, unneeded escapes and short frames', () => {
    expect(errorOf('1007010203040506')).toBe('invalid_length');
    expect(errorOf('1008010203040506')).toBe('ok');
    expect(errorOf(`103E${hex(seq(62))}`, true)).toBe('invalid_length');
    expect(errorOf(`103F${hex(seq(62))}`, true)).toBe('ok');
    expect(errorOf('1000000000140102')).toBe('invalid_length');
    expect(errorOf('10140102030405')).toBe('invalid_length');
  });
});

describe('consecutive frame', () => {
  it('encodes the sequence number in the low nibble', () => {
    expect(hex(encodeConsecutiveFrame(1, seq(7)))).toBe('2101020304050607');
    expect(hex(encodeConsecutiveFrame(15, bytes('AA')))).toBe('2FAA');
    expect(hex(encodeConsecutiveFrame(16, bytes('AA')))).toBe('20AA');
  });

  it('decodes and rejects a CF without data', () => {
    expect(decoded('2A0102CCCCCCCCCC')).toEqual({
      type: 'consecutive',
      sn: 10,
      data: bytes('0102CCCCCCCCCC'),
    });
    expect(errorOf('21')).toBe('invalid_length');
  });
});

describe('flow control', () => {
  it('encodes each flow status', () => {
    expect(hex(encodeFlowControl('cts', 0, 0))).toBe('300000');
    expect(hex(encodeFlowControl('wait', 0, 0))).toBe('310000');
    expect(hex(encodeFlowControl('overflow', 0, 0))).toBe('320000');
    expect(hex(encodeFlowControl('cts', 8, 0xf5))).toBe('3008F5');
  });

  it('decodes flow control with STmin in µs', () => {
    expect(decoded('30020ACCCCCCCCCC')).toEqual({
      type: 'flow',
      status: 'cts',
      blockSize: 2,
      stMinRaw: 0x0a,
      stMinUs: 10_000,
    });
    expect(decoded('3100F3')).toMatchObject({ status: 'wait', stMinUs: 300 });
    expect(decoded('320000')).toMatchObject({ status: 'overflow' });
    expect(decoded('3000FA')).toMatchObject({ stMinRaw: 0xfa, stMinUs: 127_000 });
  });

  it('rejects reserved flow status and short flow control', () => {
    expect(errorOf('330000')).toBe('reserved_flow_status');
    expect(errorOf('3F0000')).toBe('reserved_flow_status');
    expect(errorOf('3000')).toBe('invalid_length');
  });
});

describe('PCI type and data length', () => {
  it('rejects PCI types 4..F and empty frames', () => {
    for (const t of ['40', '5F', '90', 'F0']) expect(errorOf(`${t}00000000000000`)).toBe('invalid_pci');
    expect(errorOf('')).toBe('invalid_pci');
  });

  it('rejects data lengths the frame format cannot have', () => {
    expect(errorOf('0301020304050607AA')).toBe('invalid_dlc');
    expect(errorOf(`000A${hex(seq(9))}`, true)).toBe('invalid_dlc');
  });
});

describe('STmin', () => {
  it('decodes ms, 100 µs steps and reserved values', () => {
    expect([0x00, 0x01, 0x7f, 0xf1, 0xf9].map(decodeStMin)).toEqual([0, 1000, 127_000, 100, 900]);
    for (const reserved of [0x80, 0xf0, 0xfa, 0xff]) expect(decodeStMin(reserved)).toBe(127_000);
  });

  it('encodes exact values and rounds others up', () => {
    expect([0, 100, 900, 1000, 127_000].map(encodeStMin)).toEqual([0x00, 0xf1, 0xf9, 0x01, 0x7f]);
    expect([1, 250, 950, 1500].map(encodeStMin)).toEqual([0xf1, 0xf3, 0x01, 0x02]);
    expect(() => encodeStMin(127_001)).toThrow(RangeError);
  });
});
