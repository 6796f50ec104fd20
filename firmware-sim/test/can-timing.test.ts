import type { CanFrame } from '@mcubus/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canWireFrame } from '../src/links/can-bitstream.js';
import { canCrc } from '../src/links/can-crc.js';
import {
  canFrameBits,
  canFrameDurationNs,
  classicMaxStuffBits,
  classicUnstuffedBits,
  fdUnstuffedBits,
} from '../src/links/can-timing.js';

const FD_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];
const RATES = { nominalBitrate: 500_000, dataBitrate: 2_000_000 };

function frame(id: number, extended: boolean, fd: boolean, data: Uint8Array, brs = false): CanFrame {
  return { id, extended, fd, brs, data };
}

function bitsOf(bytes: Uint8Array): number[] {
  return [...bytes].flatMap((b) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => (b >> i) & 1));
}

function bitsOfValue(value: number, width: number): number[] {
  return Array.from({ length: width }, (_, i) => (value >>> (width - 1 - i)) & 1);
}

/** Removes dynamic stuff bits the way a receiver does; returns the bits and where stuff bits were. */
function destuff(
  levels: ArrayLike<number>,
  from: number,
  to: number,
): { bits: number[]; removed: number; at: number[] } {
  const bits: number[] = [];
  const at: number[] = [];
  let run = 0;
  let last = -1;
  for (let i = from; i < to; i++) {
    const bit = levels[i]!;
    if (run === 5) {
      expect(bit, `stuff bit at ${i} must complement the run`).toBe(last ^ 1);
      at.push(i);
      run = 1;
      last = bit;
      continue;
    }
    run = bit === last ? run + 1 : 1;
    last = bit;
    bits.push(bit);
  }
  return { bits, removed: at.length, at };
}

function longestRun(levels: ArrayLike<number>, from: number, to: number): number {
  let best = 0;
  let run = 0;
  for (let i = from; i < to; i++) {
    run = i > from && levels[i] === levels[i - 1] ? run + 1 : 1;
    best = Math.max(best, run);
  }
  return best;
}

const arbitraryFrame = fc
  .record({
    extended: fc.boolean(),
    fd: fc.boolean(),
    brs: fc.boolean(),
    id: fc.integer({ min: 0, max: 0x1fffffff }),
    lengthIndex: fc.integer({ min: 0, max: 15 }),
    seed: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    // Long runs of equal bits are where stuffing goes wrong; random bytes rarely have them.
    fill: fc.constantFrom<number | null>(null, 0x00, 0xff, 0x0f, 0xf0),
  })
  .map((r): CanFrame => {
    const length = r.fd ? FD_LENGTHS[r.lengthIndex]! : Math.min(8, r.lengthIndex);
    const data = r.fill === null ? r.seed.slice(0, length) : new Uint8Array(length).fill(r.fill);
    return frame(r.extended ? r.id : r.id & 0x7ff, r.extended, r.fd, data, r.fd && r.brs);
  });

describe('CAN CRCs', () => {
  const check = bitsOf(new TextEncoder().encode('123456789'));

  it('match the CRC catalogue check values (CRC-15/CAN, CRC-17/CAN-FD, CRC-21/CAN-FD, init 0)', () => {
    expect(canCrc(15, check)).toBe(0x059e);
    expect(canCrc(17, check, 0)).toBe(0x04f03);
    expect(canCrc(21, check, 0)).toBe(0x0ed841);
  });

  it('start the FD registers with the top bit set, as ISO 11898-1:2015 does', () => {
    expect(canCrc(17, [])).toBe(1 << 16);
    expect(canCrc(21, [])).toBe(1 << 20);
    expect(canCrc(17, check)).not.toBe(0x04f03);
  });

  it('leave a zero register after the message followed by its own CRC', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 600 }),
        fc.constantFrom(15, 17, 21),
        (bits, n) => {
          const length = n as 15 | 17 | 21;
          expect(canCrc(length, [...bits, ...bitsOfValue(canCrc(length, bits), length)])).toBe(0);
        },
      ),
    );
  });
});

describe('classic frame bits', () => {
  it('counts a zero-filled 8-byte base frame with id 0 as derived by hand: 16 stuff bits, 127 bits', () => {
    // SOF, ID (11), RTR, IDE, r0 are 15 dominant bits: stuff bits after the 5th, 10th and 15th (3).
    // DLC 1000 breaks the run. The 64 data zeros continue the 3 zeros of the DLC: a stuff bit after 2
    // more, then one per 5 zeros: 1 + ⌊62/5⌋ = 13, leaving a run of 2. CRC-15 of this frame is 0x145B
    // (001010001011011, checked by long division): its first two zeros make a run of only 4, so no
    // stuff bit in the CRC. 3 + 13 = 16 stuff bits; 47 + 64 + 16 = 127 bits.
    const counts = canFrameBits(frame(0, false, false, new Uint8Array(8)));
    expect(counts.crc).toBe(0x145b);
    expect(counts.stuffBits).toBe(16);
    expect(counts.total).toBe(127);
    expect(counts).toMatchObject({ nominal: 127, data: 0, fixedStuffBits: 0, stuffCount: null });
  });

  it('stuffs a run that ends on the last CRC bit (classic stuffing covers the whole CRC sequence)', () => {
    // Some ids give a CRC whose last bit completes a run of five: the stream must then carry a stuff
    // bit right before the CRC delimiter (a receiver would flag a stuff error without it).
    const hits: number[] = [];
    for (let id = 0; id <= 0x7ff; id++) {
      const wire = canWireFrame(frame(id, false, false, Uint8Array.of(0x5a)));
      const { at } = destuff(wire.levels, 0, wire.ackSlot - 1);
      if (at.includes(wire.ackSlot - 2)) hits.push(id);
    }
    // Roughly 1 in 32 CRC values end in such a run.
    expect(hits.length).toBeGreaterThan(20);
    const wire = canWireFrame(frame(hits[0]!, false, false, Uint8Array.of(0x5a)));
    expect(wire.levels.length).toBe(classicUnstuffedBits(1, false) + wire.stuffBits);
    expect(wire.levels[wire.ackSlot - 1]).toBe(1); // CRC delimiter
  });

  it('puts the 8-byte extended frame at 500 kbit/s within 1% of 67 + 8n bits', () => {
    // ISO-TP style id, alternating data: the stream gets a single stuff bit.
    const f = frame(0x18da55aa, true, false, new Uint8Array(8).fill(0x55));
    const counts = canFrameBits(f);
    expect(classicUnstuffedBits(8, true)).toBe(131);
    expect(counts.total).toBe(131 + counts.stuffBits);
    const formulaNs = 131 * 2000;
    const duration = canFrameDurationNs(f, { nominalBitrate: 500_000 });
    expect(duration).toBe(counts.total * 2000);
    expect(Math.abs(duration - formulaNs) / formulaNs).toBeLessThan(0.01);
  });

  it('agrees with the unstuffed formula plus its stuff bits, destuffs to a valid CRC, never exceeds the worst case', () => {
    fc.assert(
      fc.property(
        arbitraryFrame.filter((f) => !f.fd),
        (f) => {
          const wire = canWireFrame(f);
          const n = f.data.length;
          expect(wire.levels.length).toBe(classicUnstuffedBits(n, f.extended) + wire.stuffBits);
          expect(wire.stuffBits).toBeLessThanOrEqual(classicMaxStuffBits(n, f.extended));
          // Stuffed region: SOF .. end of CRC (the CRC delimiter is at ackSlot - 1).
          expect(longestRun(wire.levels, 0, wire.ackSlot - 1)).toBeLessThanOrEqual(5);
          const { bits, removed } = destuff(wire.levels, 0, wire.ackSlot - 1);
          expect(removed).toBe(wire.stuffBits);
          expect(canCrc(15, bits)).toBe(0);
          expect(bits.slice(-15 - 8 * n, -15)).toEqual(bitsOf(f.data));
          expect([...wire.levels.slice(wire.ackSlot - 1)]).toEqual([1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('CAN FD frame bits', () => {
  it('counts a zero-filled 64-byte base FD frame with BRS as derived by hand', () => {
    // SOF + ID + RRS + IDE: 14 zeros → 2 stuff bits (after the 5th and 10th), run of 4 left.
    // FDF 1, res 0, BRS 1, ESI 0, DLC 1111: no run reaches 5. 512 data zeros: ⌊512/5⌋ = 102 stuff
    // bits, the last after zero 510. 104 dynamic stuff bits, stuff count 104 mod 8 = 0.
    // Length: 62 + 8·64 (CRC-21 variant: 67 + 512 = 579, with its 7 fixed stuff bits) + 104 = 683.
    // Nominal rate: SOF..BRS (17 + 2 stuff) and ACK slot..intermission (12) = 31; data rate: the other 652.
    const f = frame(0, false, true, new Uint8Array(64), true);
    const counts = canFrameBits(f);
    expect(counts).toMatchObject({
      total: 683,
      nominal: 31,
      data: 652,
      stuffBits: 104,
      stuffCount: 0,
      fixedStuffBits: 7,
      crcLength: 21,
    });
    expect(canFrameDurationNs(f, RATES)).toBe(31 * 2000 + 652 * 500);
  });

  it('puts a 64-byte FD frame with BRS at 500k/2M within 1% of the unstuffed formula', () => {
    const f = frame(0x555, false, true, new Uint8Array(64).fill(0x55), true);
    // Unstuffed: nominal SOF..BRS (17) + ACK slot..intermission (12); data ESI..CRC delimiter.
    const data = fdUnstuffedBits(64, false) - 29;
    expect(data).toBe(1 + 4 + 512 + 32 + 1);
    const formulaNs = 29 * 2000 + data * 500;
    expect(formulaNs).toBe(333_000);
    const duration = canFrameDurationNs(f, RATES);
    expect(Math.abs(duration - formulaNs) / formulaNs).toBeLessThan(0.01);
    const counts = canFrameBits(f);
    expect(duration).toBe(counts.nominal * 2000 + counts.data * 500);
  });

  it('runs the whole frame at the nominal rate without BRS', () => {
    const f = frame(0x123, false, true, new Uint8Array(16).fill(0xa5), false);
    const counts = canFrameBits(f);
    expect(counts.data).toBe(0);
    expect(canFrameDurationNs(f, RATES)).toBe(counts.total * 2000);
    expect(counts.total).toBe(fdUnstuffedBits(16, false) + counts.stuffBits);
    expect(counts.crcLength).toBe(17);
    expect(counts.fixedStuffBits).toBe(6);
  });

  it('inserts no dynamic stuff bit when the last data bit completes a run of five', () => {
    // Data 0x1F ends in 11111: the fixed stuff bit before the stuff count breaks the run instead.
    const wire = canWireFrame(frame(0x2aa, false, true, Uint8Array.of(0x1f)));
    const crcField = 4 + 17 + 6;
    const firstFsb = wire.ackSlot - 1 - crcField;
    expect([...wire.levels.slice(firstFsb - 5, firstFsb)]).toEqual([1, 1, 1, 1, 1]);
    expect(wire.levels[firstFsb]).toBe(0);
    // And it is not counted: the stuff count equals the dynamic stuff bits a receiver removes.
    const { removed } = destuff(wire.levels, 0, firstFsb);
    expect(removed).toBe(wire.stuffBits);
    expect(wire.stuffCount).toBe(wire.stuffBits % 8);
    expect(wire.levels.length).toBe(fdUnstuffedBits(1, false) + wire.stuffBits);
  });

  it('encodes the stuff count in Gray code with even parity and places fixed stuff bits every 4 bits', () => {
    fc.assert(
      fc.property(
        arbitraryFrame.filter((f) => f.fd),
        fc.boolean(),
        (f, esi) => {
          const wire = canWireFrame(f, { esi });
          const n = f.data.length;
          const crcLength = n <= 16 ? 17 : 21;
          const fsbCount = n <= 16 ? 6 : 7;
          expect(wire.crcLength).toBe(crcLength);
          expect(wire.fixedStuffBits).toBe(fsbCount);
          expect(wire.levels.length).toBe(fdUnstuffedBits(n, f.extended) + wire.stuffBits);

          const fieldStart = wire.ackSlot - 1 - (4 + crcLength + fsbCount);
          const field = [...wire.levels.slice(fieldStart, wire.ackSlot - 1)];
          const payload: number[] = [];
          field.forEach((bit, i) => {
            const previous = i === 0 ? wire.levels[fieldStart - 1]! : field[i - 1]!;
            if (i % 5 === 0) expect(bit, `fixed stuff bit ${i / 5}`).toBe(previous ^ 1);
            else payload.push(bit);
          });
          const { bits: destuffed, removed } = destuff(wire.levels, 0, fieldStart);
          expect(removed).toBe(wire.stuffBits);
          expect(longestRun(wire.levels, 0, fieldStart)).toBeLessThanOrEqual(5);
          expect(destuffed.slice(destuffed.length - 8 * n)).toEqual(bitsOf(f.data));

          const [g2, g1, g0, parity] = payload as [number, number, number, number];
          const gray = (g2 << 2) | (g1 << 1) | g0;
          expect(gray).toBe((wire.stuffBits % 8) ^ ((wire.stuffBits % 8) >> 1));
          expect((g2 + g1 + g0 + parity) % 2).toBe(0);
          // The CRC covers SOF..data with the dynamic stuff bits, then stuff count and parity.
          expect(canCrc(crcLength, [...wire.levels.slice(0, fieldStart), ...payload])).toBe(0);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('makes the ESI bit recessive for an error-passive transmitter', () => {
    const f = frame(0x123, false, true, new Uint8Array(8), true);
    const active = canWireFrame(f);
    const passive = canWireFrame(f, { esi: true });
    expect(passive.crc).not.toBe(active.crc);
    // ESI is the first data-rate bit.
    expect(active.levels[active.dataPhaseStart]).toBe(0);
    expect(passive.levels[passive.dataPhaseStart]).toBe(1);
  });

  it('rejects frames a controller could not send', () => {
    expect(() => canFrameBits(frame(0x800, false, false, new Uint8Array(1)))).toThrow(RangeError);
    expect(() => canFrameBits(frame(0x2000_0000, true, false, new Uint8Array(1)))).toThrow(RangeError);
    expect(() => canFrameBits(frame(1, false, false, new Uint8Array(9)))).toThrow(RangeError);
    expect(() => canFrameBits(frame(1, false, true, new Uint8Array(10)))).toThrow(RangeError);
  });
});
