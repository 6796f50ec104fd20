import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CobsStreamDecoder,
  cobsDecode,
  cobsEncode,
  encodeFrame,
  encodeStreamFrame,
  FrameStreamDecoder,
} from '../src/index.js';
import { anyMessage, header } from './support/arbitraries.js';
import { hex, unhex } from './support/json.js';

const seq = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe('COBS encoding (the published examples)', () => {
  const cases: [string, Uint8Array, string][] = [
    ['one zero', unhex('00'), '0101'],
    ['two zeros', unhex('0000'), '010101'],
    ['zero inside', unhex('11220033'), '0311220233'],
    ['no zero', unhex('11223344'), '0511223344'],
    ['trailing zeros', unhex('11000000'), '0211010101'],
    ['empty', new Uint8Array(0), '01'],
    ['254 non-zero bytes', seq(1, 254), `ff${hex(seq(1, 254))}`],
    ['zero then 254 non-zero', new Uint8Array([0, ...seq(1, 254)]), `01ff${hex(seq(1, 254))}`],
    ['255 non-zero bytes', seq(1, 255), `ff${hex(seq(1, 254))}02ff`],
    ['254 non-zero then zero', new Uint8Array([...seq(1, 254), 0]), `ff${hex(seq(1, 254))}0101`],
  ];
  for (const [name, input, expected] of cases) {
    it(`${name}`, () => {
      expect(hex(cobsEncode(input))).toBe(expected);
      const back = cobsDecode(unhex(expected));
      expect(back.ok && hex(back.value)).toBe(hex(input));
    });
  }

  it('rejects a code byte that runs past the end, and a zero inside', () => {
    expect(cobsDecode(unhex('0511223344'.slice(0, 8)))).toMatchObject({
      ok: false,
      error: { code: 'cobs_overrun' },
    });
    expect(cobsDecode(unhex('031100'))).toMatchObject({ ok: false, error: { code: 'cobs_zero' } });
  });

  it('round-trips any bytes and never emits a zero (10 000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (data) => {
        const enc = cobsEncode(data);
        expect(enc.includes(0)).toBe(false);
        expect(enc.length).toBeLessThanOrEqual(data.length + Math.floor(data.length / 254) + 1);
        const dec = cobsDecode(enc);
        expect(dec.ok && hex(dec.value)).toBe(hex(data));
      }),
      { numRuns: 10_000 },
    );
  });
});

describe('COBS stream decoder', () => {
  const frames = [unhex('0102'), unhex('00'), seq(1, 300)];
  const wire = new Uint8Array(frames.flatMap((f) => [...cobsEncode(f), 0]));

  it('decodes the same frames whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: wire.length }), { maxLength: 10 }), (cuts) => {
        const d = new CobsStreamDecoder(1024);
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const out: string[] = [];
        let prev = 0;
        for (const p of [...points, wire.length]) {
          for (const r of d.push(wire.subarray(prev, p))) out.push(r.ok ? hex(r.value) : r.error.code);
          prev = p;
        }
        expect(out).toEqual(frames.map(hex));
      }),
      { numRuns: 2000 },
    );
  });

  it('skips repeated delimiters silently and counts oversize once, then resynchronises', () => {
    const d = new CobsStreamDecoder(16);
    const big = cobsEncode(seq(1, 100));
    const out = d.push(new Uint8Array([0, 0, ...big, 0, ...cobsEncode(unhex('aa')), 0]));
    expect(out.map((r) => (r.ok ? hex(r.value) : r.error.code))).toEqual(['oversize', 'aa']);
    expect(d.counters.snapshot()).toEqual({ frames: 1, oversize: 1 });
  });
});

describe('frame stream decoder (UART receive path)', () => {
  const f1 = encodeFrame({ dst: 1, src: 0, seq: 1 }, { type: 'ping', body: { nonce: 7 } });
  const f2 = encodeFrame({ dst: 1, src: 0, seq: 2 }, { type: 'identify', body: {} });

  it('resynchronises after garbage within one frame and counts the cause', () => {
    const d = new FrameStreamDecoder();
    const garbage = unhex('13377aff'); // no zero: it merges with the next frame, which then fails its CRC
    const events = d.push(new Uint8Array([...garbage, ...encodeStreamFrame(f1), ...encodeStreamFrame(f2)]));
    expect(events.map((e) => (e.kind === 'frame' ? e.frame.header.seq : e.error.code))).toEqual([
      'cobs_overrun',
      2,
    ]);
    expect(d.counters.snapshot()).toEqual({ cobs_overrun: 1, frames_ok: 1 });
  });

  it('repairs one flipped bit and counts it', () => {
    const d = new FrameStreamDecoder();
    const w1 = encodeStreamFrame(f1);
    w1[3]! ^= 0x40;
    expect(w1[3]).not.toBe(0); // still a valid COBS byte: only the CRC can catch it
    const events = d.push(new Uint8Array([...w1, ...encodeStreamFrame(f2)]));
    expect(events.map((e) => (e.kind === 'frame' ? hex(e.bytes) : e.error.code))).toEqual([hex(f1), hex(f2)]);
    expect(d.counters.snapshot()).toEqual({ frames_ok: 2 });
  });

  it('counts a frame with two flipped bits as bad_crc and keeps going', () => {
    const d = new FrameStreamDecoder();
    const w1 = encodeStreamFrame(f1);
    w1[3]! ^= 0x40;
    w1[10]! ^= 0x02; // bytes 0, 4 and 8 are COBS codes: leave them
    expect(w1[3]! * w1[10]!).not.toBe(0);
    const events = d.push(new Uint8Array([...w1, ...encodeStreamFrame(f2)]));
    expect(events.map((e) => (e.kind === 'frame' ? e.frame.header.seq : e.error.code))).toEqual([
      'bad_crc',
      2,
    ]);
  });

  it('recovers the frame that follows any garbage (10 000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), header, anyMessage, (garbage, h, m) => {
        const d = new FrameStreamDecoder();
        const frame = encodeFrame(h, m);
        // A sender starts with a delimiter after idle: that ends whatever garbage came before.
        const events = d.push(new Uint8Array([...garbage, 0, ...encodeStreamFrame(frame)]));
        const last = events.at(-1);
        expect(last?.kind).toBe('frame');
        if (last?.kind === 'frame') expect(hex(last.bytes)).toBe(hex(frame));
        expect(d.counters.get('frames_ok')).toBe(events.filter((e) => e.kind === 'frame').length);
      }),
      { numRuns: 10_000 },
    );
  });

  it('never throws on random byte streams, in random chunks (10 000 cases)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }), (chunks) => {
        const d = new FrameStreamDecoder(512);
        for (const c of chunks) d.push(c);
        expect(d.counters.total()).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 10_000 },
    );
  });
});
