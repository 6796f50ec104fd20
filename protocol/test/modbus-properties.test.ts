import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Adu,
  decodeAdu,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  expectedAduLength,
  type ModbusRequest,
  type ModbusResponse,
  RtuFramer,
  rtuTiming,
} from '../src/modbus/index.js';

const RUNS = { numRuns: 10000 };
const timing = rtuTiming(19200);

const u16 = fc.integer({ min: 0, max: 0xffff });
const requestAddress = fc.integer({ min: 0, max: 247 });
const responseAddress = fc.integer({ min: 1, max: 247 });
const frame = fc.option(fc.uint8Array({ minLength: 1, maxLength: 251 }), { nil: null });

const request: fc.Arbitrary<ModbusRequest> = fc.oneof(
  fc.record({
    address: requestAddress,
    kind: fc.constant('read_registers' as const),
    function: fc.constantFrom(0x03 as const, 0x04 as const),
    start: u16,
    quantity: fc.integer({ min: 1, max: 125 }),
  }),
  fc.record({
    address: requestAddress,
    kind: fc.constant('write_single_register' as const),
    function: fc.constant(0x06 as const),
    register: u16,
    value: u16,
  }),
  fc.record({
    address: requestAddress,
    kind: fc.constant('write_multiple_registers' as const),
    function: fc.constant(0x10 as const),
    start: u16,
    values: fc.array(u16, { minLength: 1, maxLength: 123 }),
  }),
  fc.record({
    address: requestAddress,
    kind: fc.constant('mcubus' as const),
    function: fc.constant(0x41 as const),
    frame,
  }),
);

const response: fc.Arbitrary<ModbusResponse> = fc.oneof(
  fc.record({
    address: responseAddress,
    kind: fc.constant('read_registers' as const),
    function: fc.constantFrom(0x03 as const, 0x04 as const),
    registers: fc.array(u16, { minLength: 1, maxLength: 125 }),
  }),
  fc.record({
    address: responseAddress,
    kind: fc.constant('write_single_register' as const),
    function: fc.constant(0x06 as const),
    register: u16,
    value: u16,
  }),
  fc.record({
    address: responseAddress,
    kind: fc.constant('write_multiple_registers' as const),
    function: fc.constant(0x10 as const),
    start: u16,
    quantity: fc.integer({ min: 1, max: 123 }),
  }),
  fc.record({
    address: responseAddress,
    kind: fc.constant('mcubus' as const),
    function: fc.constant(0x41 as const),
    frame,
  }),
  fc.record({
    address: responseAddress,
    kind: fc.constant('exception' as const),
    function: fc.integer({ min: 0x81, max: 0xff }),
    code: fc.integer({ min: 1, max: 255 }),
  }),
);

function encodedRequest(r: ModbusRequest): Uint8Array {
  const bytes = encodeRequest(r);
  if (!bytes.ok) throw new Error(bytes.error.message);
  return bytes.value;
}

function encodedResponse(r: ModbusResponse): Uint8Array {
  const bytes = encodeResponse(r);
  if (!bytes.ok) throw new Error(bytes.error.message);
  return bytes.value;
}

function aduOf(bytes: Uint8Array): Adu {
  const adu = decodeAdu(bytes);
  if (!adu.ok) throw new Error(adu.error.message);
  return adu.value;
}

/** Splits `bytes` at the given cut points (any order, any range). */
function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  return out;
}

/**
 * A slave cannot tell requests from responses but by their CRC: once in 65536 the reading in the
 * other direction also ends in a good CRC. Such streams are framed differently by design.
 */
function hasAmbiguousReading(stream: Uint8Array, adus: Uint8Array[]): boolean {
  let offset = 0;
  for (const adu of adus) {
    for (const direction of ['request', 'response'] as const) {
      const length = expectedAduLength(stream.subarray(offset), direction);
      if (!length.ok || length.value === 'need_more' || length.value === adu.length) continue;
      if (
        offset + length.value <= stream.length &&
        decodeAdu(stream.subarray(offset, offset + length.value)).ok
      ) {
        return true;
      }
    }
    offset += adu.length;
  }
  return false;
}

describe('codec round trips', () => {
  it('decodeRequest(encodeRequest(r)) is r, for every request function', () => {
    fc.assert(
      fc.property(request, (r) => {
        expect(decodeRequest(encodedRequest(r))).toEqual({ ok: true, value: r });
      }),
      RUNS,
    );
  });

  it('decodeResponse(encodeResponse(r)) is r, for every response and exceptions', () => {
    fc.assert(
      fc.property(response, (r) => {
        expect(decodeResponse(encodedResponse(r))).toEqual({ ok: true, value: r });
      }),
      RUNS,
    );
  });

  it('expectedAduLength gives the encoded length from any prefix long enough', () => {
    fc.assert(
      fc.property(
        fc.oneof(request.map(encodedRequest), response.map(encodedResponse)),
        fc.nat(),
        (bytes, n) => {
          const direction = decodeRequest(bytes).ok ? 'request' : 'response';
          // 7 bytes hold every length field (0x10 requests' byte count is the 7th).
          const prefix = bytes.subarray(0, Math.min(7 + (n % 250), bytes.length));
          expect(expectedAduLength(prefix, direction)).toEqual({ ok: true, value: bytes.length });
        },
      ),
      RUNS,
    );
  });
});

describe('hostile input', () => {
  it('decodeAdu, decodeRequest and decodeResponse never throw and reject with a code', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const r of [decodeAdu(bytes), decodeRequest(bytes), decodeResponse(bytes)]) {
          if (!r.ok) expect(r.error.code).toMatch(/^[a-z_]+$/);
        }
      }),
      RUNS,
    );
  });

  it('the framer never throws, and accounts for every byte', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('master' as const, 'slave' as const),
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 10_000 })), {
          maxLength: 12,
        }),
        (role, pushes) => {
          const framer = new RtuFramer({ role, timing });
          let now = 0;
          let pushed = 0;
          let delivered = 0;
          for (const [bytes, delay] of pushes) {
            now += delay;
            pushed += bytes.length;
            for (const r of framer.push(bytes, now)) if (r.ok) delivered += r.value.data.length + 4;
            expect(framer.pending).toBeLessThanOrEqual(256);
          }
          expect(delivered + framer.counters.get('skipped_bytes') + framer.pending).toBe(pushed);
        },
      ),
      RUNS,
    );
  });
});

describe('framing', () => {
  it('delivers back-to-back ADUs whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(response.map(encodedResponse), { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (adus, cuts) => {
          const framer = new RtuFramer({ role: 'master', timing });
          const stream = Uint8Array.from(adus.flatMap((a) => Array.from(a)));
          const out = chunks(stream, cuts).flatMap((chunk, i) => framer.push(chunk, i));
          expect(out).toEqual(adus.map((a) => ({ ok: true, value: aduOf(a) })));
          expect(framer.counters.total()).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it('as slave, delivers requests interleaved with responses whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(request.map(encodedRequest), response.map(encodedResponse)), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (adus, cuts) => {
          const stream = Uint8Array.from(adus.flatMap((a) => Array.from(a)));
          fc.pre(!hasAmbiguousReading(stream, adus));
          const framer = new RtuFramer({ role: 'slave', timing });
          const out = chunks(stream, cuts).flatMap((chunk, i) => framer.push(chunk, i));
          // A 7-byte read response also reads as the start of an 8-byte request; silence settles it.
          out.push(...framer.push(new Uint8Array(0), 1_000_000));
          expect(out).toEqual(adus.map((a) => ({ ok: true, value: aduOf(a) })));
        },
      ),
      RUNS,
    );
  });

  it('recovers a valid ADU after random garbage (up to the CRC-16 false-match rate)', () => {
    let falseMatches = 0;
    fc.assert(
      fc.property(
        fc.constantFrom('master' as const, 'slave' as const),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        response.map(encodedResponse),
        fc.array(fc.nat(), { maxLength: 4 }),
        (role, garbage, valid, cuts) => {
          const framer = new RtuFramer({ role, timing });
          const stream = Uint8Array.from([...garbage, ...valid]);
          const out = chunks(stream, cuts).flatMap((chunk) => framer.push(chunk, 0));
          // The silence after the ADU frees it if garbage left the framer waiting for a long ADU.
          out.push(...framer.push(new Uint8Array(0), 1_000_000));
          const delivered = out.filter((r) => r.ok).map((r) => r.value);
          const expected = aduOf(valid);
          const recovered = delivered.some((a) => JSON.stringify(a) === JSON.stringify(expected));
          // Garbage can end in bytes that happen to carry a good CRC: an ADU nobody sent. That
          // costs the valid ADU only if the false one overlaps it.
          const falseMatch = delivered.some((a) => JSON.stringify(a) !== JSON.stringify(expected));
          if (falseMatch) falseMatches++;
          expect(recovered || falseMatch).toBe(true);
          expect(framer.pending).toBe(0);
        },
      ),
      RUNS,
    );
    expect(falseMatches).toBeLessThan(RUNS.numRuns / 100);
  });
});
