import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor } from '../src/index.js';
import { cborValue } from './support/arbitraries.js';
import { hex, unhex } from './support/json.js';

describe('CBOR subset: deterministic encoding (RFC 8949 Appendix A values)', () => {
  const cases: [unknown, string][] = [
    [0, '00'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [4294967295, '1affffffff'],
    [4294967296, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [18446744073709551615n, '1bffffffffffffffff'],
    [-1, '20'],
    [-24, '37'],
    [-25, '3818'],
    [-1000, '3903e7'],
    [-18446744073709551616n, '3bffffffffffffffff'],
    [1.5, 'fb3ff8000000000000'],
    [-4.1, 'fbc010666666666666'],
    [false, 'f4'],
    [true, 'f5'],
    [null, 'f6'],
    ['', '60'],
    ['IETF', '6449455446'],
    ['ü', '62c3bc'],
    [new Uint8Array([1, 2, 3, 4]), '4401020304'],
    [[1, [2, 3]], '8201820203'],
    [
      new Map<number | string, unknown>([
        [1, 2],
        [3, 4],
      ]),
      'a201020304',
    ],
    [new Map([['a', 1]]), 'a1616101'],
  ];
  for (const [value, expected] of cases) {
    it(`${String(value instanceof Map ? 'map' : value)} ⇄ ${expected}`, () => {
      expect(hex(encodeCbor(value as never))).toBe(expected);
      const back = decodeCbor(unhex(expected));
      expect(back.ok && back.value).toEqual(value);
    });
  }

  it('accepts non-shortest integer heads and the three float widths', () => {
    expect(decodeCbor(unhex('1800'))).toEqual({ ok: true, value: 0 });
    expect(decodeCbor(unhex('1b0000000000000005'))).toEqual({ ok: true, value: 5 });
    expect(decodeCbor(unhex('f93e00'))).toEqual({ ok: true, value: 1.5 });
    expect(decodeCbor(unhex('f97c00'))).toEqual({ ok: true, value: Number.POSITIVE_INFINITY });
    expect(decodeCbor(unhex('f90001'))).toEqual({ ok: true, value: 2 ** -24 });
    expect(decodeCbor(unhex('fa47c35000'))).toEqual({ ok: true, value: 100000 });
  });
});

describe('CBOR subset: rejected input gives a typed error', () => {
  const bad: [string, string, string][] = [
    ['', 'truncated', 'empty input'],
    ['a201', 'truncated', 'map cut short'],
    ['5affffffff', 'truncated', 'byte string longer than the input'],
    ['9bffffffffffffffff', 'truncated', '2^64-item array is not allocated'],
    ['0102', 'trailing_bytes', 'two items'],
    ['c11a00000001', 'unsupported_item', 'tag (epoch date)'],
    ['5f4101ff', 'unsupported_item', 'indefinite byte string'],
    ['bf0102ff', 'unsupported_item', 'indefinite map'],
    ['f7', 'unsupported_item', 'undefined'],
    ['f820', 'unsupported_item', 'simple value 32'],
    ['1c', 'unsupported_item', 'reserved additional information 28'],
    ['62c328', 'invalid_utf8', 'bad UTF-8'],
    ['a2010201 03', 'duplicate_key', 'key 1 twice'],
    ['a1f401', 'bad_map_key', 'boolean key'],
    ['818181818181818181818181818181818100', 'too_deep', '17 nested arrays'],
  ];
  for (const [input, code, why] of bad) {
    it(`${why}: ${input || '(empty)'} → ${code}`, () => {
      const r = decodeCbor(unhex(input));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(code);
    });
  }
});

describe('CBOR subset: properties', () => {
  it('round-trips every value of the subset, byte-stable (10 000 cases)', () => {
    fc.assert(
      fc.property(cborValue, (v) => {
        const bytes = encodeCbor(v);
        const back = decodeCbor(bytes);
        expect(back.ok).toBe(true);
        if (back.ok) {
          expect(back.value).toEqual(v);
          expect(hex(encodeCbor(back.value))).toBe(hex(bytes));
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it('never throws on random or mutated bytes (10 000 cases)', () => {
    const mutated = fc
      .tuple(cborValue, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 255 }))
      .map(([v, at, b]) => {
        const bytes = encodeCbor(v);
        if (bytes.length > 0) bytes[at % bytes.length] = b;
        return bytes;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (bytes) => {
        const r = decodeCbor(bytes);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('CBOR subset: leniencies closed after review', () => {
  it('rejects a float map key, keeps a leading BOM in text, and counts depth by containers', () => {
    expect(decodeCbor(unhex('a1f93c0007'))).toMatchObject({ ok: false, error: { code: 'bad_map_key' } });
    expect(decodeCbor(unhex('63efbbbf'))).toEqual({ ok: true, value: '\ufeff' });
    const nested = (n: number) => unhex(`${'81'.repeat(n - 1)}80`);
    expect(decodeCbor(nested(16)).ok).toBe(true);
    expect(decodeCbor(nested(17))).toMatchObject({ ok: false, error: { code: 'too_deep' } });
  });
});
