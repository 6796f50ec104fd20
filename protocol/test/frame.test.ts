import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  decodeRawFrame,
  encodeFrame,
  encodeRawFrame,
  MAX_FRAME_SIZE,
  MESSAGE_NAMES,
  readHeader,
  withTtl,
} from '../src/index.js';
import { anyMessage, header, messageOf } from './support/arbitraries.js';
import { hex, unhex } from './support/json.js';

const heartbeat = {
  type: 'heartbeat',
  body: { uptimeMs: 12345, mode: 1, health: 0, resetReason: 1, resetCount: 3 },
} as const;

describe('frame layout', () => {
  it('puts the 8-byte little-endian header, the CBOR body and the CRC-32C where the spec says', () => {
    const f = encodeFrame(
      { dst: 0x12, src: 0x00, seq: 0x0304, ttl: 5, priority: 1, response: true },
      heartbeat,
    );
    expect(hex(f.subarray(0, 8))).toBe('01' + '05' + '12' + '00' + '05' + '03' + '0403');
    // body: {1: 12345, 2: 1, 3: 0, 4: 1, 5: 3}
    expect(hex(f.subarray(8, f.length - 4))).toBe('a5011930390201030004010503');
    expect(f.length).toBe(8 + 13 + 4);
  });

  it('keeps the CRC valid when a gateway lowers the TTL, and only then', () => {
    const f = encodeFrame({ dst: 2, src: 0, seq: 1, ttl: 8 }, heartbeat);
    const forwarded = withTtl(f, 7);
    const r = decodeRawFrame(forwarded);
    expect(r.ok && r.value.header.ttl).toBe(7);
    const tampered = f.slice();
    tampered[2] = 3; // destination changed on the way: caught end to end
    expect(decodeRawFrame(tampered)).toMatchObject({ ok: false, error: { code: 'bad_crc' } });
  });

  it('reads flags: response, retransmit, priority; ignores reserved bits', () => {
    const f = encodeFrame({ dst: 1, src: 0, seq: 9, retransmit: true, priority: 3 }, heartbeat);
    expect(readHeader(f)).toMatchObject({ response: false, retransmit: true, priority: 3, seq: 9 });
  });
});

describe('frame errors are typed, never thrown', () => {
  const good = encodeFrame({ dst: 2, src: 0, seq: 1 }, heartbeat);
  it('truncated', () => {
    expect(decodeFrame(good.subarray(0, 12))).toMatchObject({ ok: false, error: { code: 'truncated' } });
  });
  it('oversize (against the receiver limit)', () => {
    expect(decodeFrame(good, 20)).toMatchObject({ ok: false, error: { code: 'oversize' } });
  });
  it('unknown version', () => {
    const v2 = good.slice();
    v2[0] = 2;
    expect(decodeFrame(v2)).toMatchObject({ ok: false, error: { code: 'unknown_version' } });
  });
  it('bad CRC names both values', () => {
    const bad = good.slice();
    bad[bad.length - 1]! ^= 0x01;
    const r = decodeFrame(bad);
    expect(r).toMatchObject({ ok: false, error: { code: 'bad_crc' } });
    if (!r.ok) expect(r.error.message).toMatch(/frame says 0x[0-9a-f]{8}, bytes give 0x[0-9a-f]{8}/);
  });
  it('bad CBOR body under a good CRC', () => {
    const f = encodeRawFrame({ dst: 2, src: 0, seq: 1, type: 0x03 }, unhex('a501'));
    expect(decodeFrame(f)).toMatchObject({ ok: false, error: { code: 'bad_cbor', typeCode: 3 } });
  });
  it('schema mismatch names the field', () => {
    const f = encodeRawFrame({ dst: 2, src: 0, seq: 1, type: 0x03 }, unhex('a10160')); // uptimeMs: "" (text)
    const r = decodeFrame(f);
    expect(r).toMatchObject({ ok: false, error: { code: 'schema' } });
    if (!r.ok) expect(r.error.message).toContain('heartbeat.uptimeMs');
  });
  it('missing required field', () => {
    const f = encodeRawFrame({ dst: 2, src: 0, seq: 1, type: 0x03 }, unhex('a1011901f4'));
    const r = decodeFrame(f);
    expect(r).toMatchObject({ ok: false, error: { code: 'schema' } });
    if (!r.ok) expect(r.error.message).toContain('required field mode (key 2) is missing');
  });
});

describe('forward compatibility', () => {
  it('surfaces an unknown message type with its raw body instead of failing', () => {
    const f = encodeRawFrame({ dst: 0, src: 5, seq: 1, type: 0xe0 }, unhex('a10102'));
    const r = decodeFrame(f);
    expect(r.ok && r.value.message).toEqual({
      type: 'unknown',
      code: 0xe0,
      body: new Map([[1, 2]]),
      unknownKeys: [],
    });
  });
  it('reports and skips unknown keys, keeping the known fields', () => {
    // heartbeat with an extra key 40 and an extra key inside a slot of hello is similar; here top-level.
    const f = encodeRawFrame(
      { dst: 0, src: 5, seq: 1, type: 0x03 },
      unhex('a6011864020103000400050018286378797a'),
    );
    const r = decodeFrame(f);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.message.unknownKeys).toEqual(['heartbeat.40']);
      expect(r.value.message).toMatchObject({ type: 'heartbeat', body: { uptimeMs: 100, mode: 1 } });
    }
  });
});

describe('frame codec properties', () => {
  it('round-trips any header with any message (10 000 cases)', () => {
    fc.assert(
      fc.property(header, anyMessage, (h, m) => {
        const bytes = encodeFrame(h, m);
        fc.pre(bytes.length <= MAX_FRAME_SIZE);
        const r = decodeFrame(bytes);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.header).toEqual({ version: 1, type: bytes[5], ...h });
        expect(r.value.message).toEqual({ ...m, unknownKeys: [] });
        expect(hex(encodeFrame(h, r.value.message as typeof m))).toBe(hex(bytes));
      }),
      { numRuns: 10_000 },
    );
  });

  for (const name of MESSAGE_NAMES) {
    it(`round-trips ${name} (300 cases)`, () => {
      fc.assert(
        fc.property(messageOf(name), (m) => {
          const r = decodeFrame(encodeFrame({ dst: 1, src: 0, seq: 0 }, m));
          expect(r.ok && r.value.message).toEqual({ ...m, unknownKeys: [] });
        }),
        { numRuns: 300 },
      );
    });
  }

  it('never throws on random or mutated frames, and a mutation is always caught (10 000 cases)', () => {
    fc.assert(
      fc.property(
        header,
        anyMessage,
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 255 }),
        (h, m, at, x) => {
          const bytes = encodeFrame(h, m);
          const i = at % bytes.length;
          bytes[i]! ^= x;
          const r = decodeFrame(bytes);
          // Every byte is covered by the CRC except the TTL (byte 4), which hops rewrite.
          if (i !== 4) expect(r.ok).toBe(false);
        },
      ),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        expect(typeof decodeFrame(bytes).ok).toBe('boolean');
      }),
      { numRuns: 10_000 },
    );
  });
});
