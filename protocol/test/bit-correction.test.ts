import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CobsStreamDecoder,
  decodeRawFrame,
  encodeRawFrame,
  encodeStreamFrame,
  frameCrc,
  OFFSET,
  repairSingleBit,
} from '../src/index.js';
import { hex } from './support/json.js';

function frameOf(bodyLength: number, seed: number): Uint8Array {
  const body = Uint8Array.from({ length: bodyLength }, (_, i) => (i * 131 + seed * 7 + 1) & 0xff);
  body[0] = 0x40; // any bytes will do: the CRC does not care what the body means
  return encodeRawFrame({ dst: 1, src: 0, seq: seed & 0xffff, type: 0x01 }, body);
}

function flipped(frame: Uint8Array, byte: number, bit: number): Uint8Array {
  const out = frame.slice();
  out[byte] = out[byte]! ^ (1 << bit);
  return out;
}

describe('single-bit repair (spec §6)', () => {
  it('undoes a flip at every bit of a 100-byte frame, the CRC field included', () => {
    const good = frameOf(88, 3);
    for (let byte = 0; byte < good.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = flipped(good, byte, bit);
        const at = repairSingleBit(bad);
        if (byte === OFFSET.ttl) {
          // Outside the CRC by design (gateways rewrite it): nothing to find, nothing changed.
          expect(at).toBeNull();
          continue;
        }
        expect(at).toEqual({ byte, bit });
        expect(hex(bad)).toBe(hex(good));
      }
    }
  });

  it('finds the right bit anywhere in a frame of the largest size (4096 bytes)', () => {
    const good = frameOf(4096 - 12, 9);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 7 }), (byte, bit) => {
        fc.pre(byte !== OFFSET.ttl);
        const bad = flipped(good, byte, bit);
        expect(repairSingleBit(bad)).toEqual({ byte, bit });
        expect(decodeRawFrame(bad).ok).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves an intact frame alone', () => {
    const good = frameOf(40, 1);
    const copy = good.slice();
    expect(repairSingleBit(copy)).toBeNull();
    expect(hex(copy)).toBe(hex(good));
  });

  it('never "repairs" two flipped bits: every pair in a 256-byte frame keeps its own syndrome', () => {
    // Hamming distance ≥ 4 means no two-bit error looks like a one-bit error. Checked exhaustively here
    // (261 120 pairs) with the syndromes themselves, which is what repairSingleBit compares.
    const good = frameOf(244, 5);
    const base = frameCrc(good, good.length - 4);
    const singles: number[] = [];
    for (let byte = 0; byte < good.length - 4; byte++) {
      if (byte === OFFSET.ttl) continue;
      for (let bit = 0; bit < 8; bit++) {
        singles.push((frameCrc(flipped(good, byte, bit), good.length - 4) ^ base) >>> 0);
      }
    }
    const known = new Set(singles);
    expect(known.size).toBe(singles.length); // distinct: each single flip is located exactly
    let collisions = 0;
    for (let i = 0; i < singles.length; i++) {
      for (let j = i + 1; j < singles.length; j++) {
        const s = (singles[i]! ^ singles[j]!) >>> 0;
        if (known.has(s) || (s & (s - 1)) === 0) collisions++;
      }
    }
    expect(collisions).toBe(0);
  });

  it('rejects random two-bit errors in 1 KiB frames (2 000 cases)', () => {
    const good = frameOf(1024, 2);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length * 8 - 1 }),
        fc.integer({ min: 0, max: good.length * 8 - 1 }),
        (a, b) => {
          fc.pre(a !== b && a >> 3 !== OFFSET.ttl && b >> 3 !== OFFSET.ttl);
          const bad = flipped(flipped(good, a >> 3, a & 7), b >> 3, b & 7);
          expect(repairSingleBit(bad)).toBeNull();
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('repairs on the UART receive path unless told not to', () => {
    const good = frameOf(500, 4);
    const wire = encodeStreamFrame(good);
    wire[200] = wire[200]! ^ 0x10;
    expect(wire[200]).not.toBe(0);
    const on = new CobsStreamDecoder(4096);
    const [repaired] = on.push(wire);
    expect(repaired?.ok && hex(repaired.value)).toBe(hex(good));
    expect(on.counters.snapshot()).toEqual({ frames: 1, repaired_bit: 1 });
    const off = new CobsStreamDecoder(4096, false);
    const [kept] = off.push(wire);
    expect(kept?.ok && decodeRawFrame(kept.value).ok).toBe(false);
  });
});
