import { describe, expect, it } from 'vitest';
import {
  CAN_PRIORITY_TABLE,
  canIdFor,
  canPriorityFor,
  composeCanId,
  FD_DATA_LENGTHS,
  fdDlcForLength,
  fdLengthForDlc,
  framePriorityFor,
  isValidFdLength,
  padFrameData,
  parseCanId,
  roundUpFdLength,
} from '../src/isotp/index.js';

describe('CAN FD data lengths', () => {
  it('lists exactly the 16 lengths a DLC can encode', () => {
    expect(FD_DATA_LENGTHS).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]);
    expect(isValidFdLength(12)).toBe(true);
    expect(isValidFdLength(9)).toBe(false);
    expect(isValidFdLength(65)).toBe(false);
  });

  it('rounds lengths up to the next valid one', () => {
    expect([0, 7, 8, 9, 12, 13, 21, 25, 33, 49, 64].map(roundUpFdLength)).toEqual([
      0, 7, 8, 12, 12, 16, 24, 32, 48, 64, 64,
    ]);
    expect(() => roundUpFdLength(65)).toThrow(RangeError);
  });

  it('maps lengths to DLC codes and back', () => {
    expect(fdDlcForLength(8)).toBe(8);
    expect(fdDlcForLength(12)).toBe(9);
    expect(fdDlcForLength(64)).toBe(15);
    expect(fdLengthForDlc(13)).toBe(32);
    expect(() => fdDlcForLength(10)).toThrow(RangeError);
    expect(() => fdLengthForDlc(16)).toThrow(RangeError);
  });
});

describe('padding', () => {
  const sf = Uint8Array.of(0x03, 0xaa, 0xbb, 0xcc);

  it('pads classic frames to 8 bytes with the padding byte', () => {
    expect([...padFrameData(sf, false, 0xcc)]).toEqual([0x03, 0xaa, 0xbb, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc]);
    expect([...padFrameData(sf, false, 0x55)]).toEqual([0x03, 0xaa, 0xbb, 0xcc, 0x55, 0x55, 0x55, 0x55]);
  });

  it('leaves classic frames alone when padding is null', () => {
    expect([...padFrameData(sf, false, null)]).toEqual([0x03, 0xaa, 0xbb, 0xcc]);
  });

  it('pads FD frames to the next valid length, with 0xCC even when padding is null', () => {
    const ten = new Uint8Array(10).fill(1);
    expect([...padFrameData(ten, true, null)]).toEqual([...ten, 0xcc, 0xcc]);
    expect([...padFrameData(ten, true, 0x00)]).toEqual([...ten, 0x00, 0x00]);
    expect(padFrameData(sf, true, null).length).toBe(4);
    expect(padFrameData(sf, true, 0xcc).length).toBe(8);
  });
});

describe('CAN ids', () => {
  it('maps frame priorities to CAN priorities [3, 4, 6, 7]', () => {
    expect(CAN_PRIORITY_TABLE).toEqual([3, 4, 6, 7]);
    expect([0, 1, 2, 3].map((p) => canPriorityFor(p as 0 | 1 | 2 | 3))).toEqual([3, 4, 6, 7]);
  });

  it('builds normal fixed addressing ids', () => {
    expect(canIdFor({ priority: 2, target: 0x01, source: 0x00 })).toBe(0x18da0100);
    expect(canIdFor({ priority: 0, target: 0x00, source: 0x2a })).toBe(0x0cda002a);
    expect(canIdFor({ priority: 1, target: 0x10, source: 0x00 })).toBe(0x10da1000);
    expect(canIdFor({ priority: 3, target: 0xfe, source: 0x01 })).toBe(0x1cdafe01);
    expect(canIdFor({ priority: 2, target: 0xff, source: 0x00, functional: true })).toBe(0x18dbff00);
  });

  it('rejects impossible ids when building', () => {
    expect(() => canIdFor({ priority: 2, target: 0x100, source: 0 })).toThrow(RangeError);
    expect(() => canIdFor({ priority: 4 as 0, target: 1, source: 0 })).toThrow(RangeError);
    expect(() => canIdFor({ priority: 2, target: 1, source: 0, functional: true })).toThrow(RangeError);
    expect(() => composeCanId({ canPriority: 8, functional: false, target: 1, source: 0 })).toThrow(
      RangeError,
    );
  });

  it('parses ids back into their parts', () => {
    expect(parseCanId(0x18da0100)).toEqual({
      ok: true,
      value: { canPriority: 6, priority: 2, functional: false, target: 0x01, source: 0x00 },
    });
    expect(parseCanId(0x18dbff05)).toEqual({
      ok: true,
      value: { canPriority: 6, priority: 2, functional: true, target: 0xff, source: 0x05 },
    });
  });

  it('rejects 11-bit ids, foreign PFs, set data-page bits and out-of-range numbers', () => {
    const code = (id: number, extended = true) => {
      const r = parseCanId(id, extended);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(0x7df, false)).toBe('standard_id');
    expect(code(0x18da0100, false)).toBe('standard_id');
    expect(code(0x18eaff00)).toBe('foreign_id');
    expect(code(0x19da0100)).toBe('foreign_id');
    expect(code(0x1ada0100)).toBe('foreign_id');
    expect(code(0x20000000)).toBe('invalid_id');
    expect(code(-1)).toBe('invalid_id');
    expect(code(1.5)).toBe('invalid_id');
  });

  it('reads unlisted CAN priorities as the nearest frame priority not more urgent', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(framePriorityFor)).toEqual([0, 0, 0, 0, 1, 2, 2, 3]);
    for (const p of [0, 1, 2, 3] as const) expect(framePriorityFor(canPriorityFor(p))).toBe(p);
  });
});
