import { describe, expect, it } from 'vitest';
import { Prng } from '../src/kernel/prng.js';
import { applyWireFlips } from '../src/links/uart-char-errors.js';
import { lineFormat } from '../src/links/uart-format.js';
import { RareEvents } from '../src/links/uart-rare-events.js';

describe('applyWireFlips', () => {
  const f8e1 = lineFormat(9600, '8E1'); // bits: 0 start, 1–8 data, 9 parity, 10 stop
  const f7n2 = lineFormat(9600, '7N2'); // bits: 0 start, 1–7 data, 8 and 9 stop

  it('flips data bits LSB first and flags the parity error', () => {
    expect(applyWireFlips(f8e1, 0x00, [1])).toEqual({
      lost: null,
      value: 0x01,
      flippedBits: 1,
      parityError: true,
      framingError: false,
    });
    expect(applyWireFlips(f8e1, 0x00, [8]).value).toBe(0x80);
  });

  it('misses two flipped data bits, as parity does', () => {
    const r = applyWireFlips(f8e1, 0xf0, [1, 2]);
    expect(r.value).toBe(0xf3);
    expect(r.parityError).toBe(false);
  });

  it('flags a flipped parity bit without changing the data', () => {
    const r = applyWireFlips(f8e1, 0x5a, [9]);
    expect(r.value).toBe(0x5a);
    expect(r.parityError).toBe(true);
  });

  it('loses the character on a flipped start bit and flags a flipped first stop bit', () => {
    expect(applyWireFlips(f8e1, 0x5a, [0]).lost).toBe('start-bit');
    const stop = applyWireFlips(f8e1, 0x5a, [10]);
    expect(stop.lost).toBeNull();
    expect(stop.framingError).toBe(true);
  });

  it('ignores the second stop bit and has no parity on N formats', () => {
    const r = applyWireFlips(f7n2, 0x00, [7, 9]);
    expect(r.value).toBe(0x40);
    expect(r.parityError).toBe(false);
    expect(r.framingError).toBe(false);
    expect(applyWireFlips(f7n2, 0x00, [8]).framingError).toBe(true);
  });
});

describe('RareEvents', () => {
  it('hits each trial with the configured probability', () => {
    const ev = new RareEvents(new Prng(7), 0.01);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) hits += ev.take(100).length;
    // 1 000 000 trials: mean 10 000, sd ≈ 99.5; ±4 sd.
    expect(hits).toBeGreaterThan(9_600);
    expect(hits).toBeLessThan(10_400);
  });

  it('returns positions inside the window, in order, with p = 1 hitting every trial', () => {
    expect(new RareEvents(new Prng(1), 1).take(5)).toEqual([0, 1, 2, 3, 4]);
    const ev = new RareEvents(new Prng(3), 0.3);
    for (let i = 0; i < 1000; i++) {
      const hits = ev.take(11);
      for (let j = 0; j < hits.length; j++) {
        expect(hits[j]).toBeGreaterThanOrEqual(j === 0 ? 0 : hits[j - 1]! + 1);
        expect(hits[j]).toBeLessThan(11);
      }
    }
  });

  it('never hits with p = 0 and refuses probabilities outside [0, 1]', () => {
    expect(new RareEvents(new Prng(1), 0).take(1_000_000)).toEqual([]);
    expect(() => new RareEvents(new Prng(1), 1.5)).toThrow(RangeError);
    expect(() => new RareEvents(new Prng(1), -0.1)).toThrow(RangeError);
  });

  it('keeps the gap across windows: the same stream whatever the window sizes', () => {
    const a = new RareEvents(new Prng(9), 0.05);
    const b = new RareEvents(new Prng(9), 0.05);
    const absA: number[] = [];
    const absB: number[] = [];
    for (let i = 0; i < 100; i++) for (const p of a.take(10)) absA.push(i * 10 + p);
    for (let i = 0; i < 40; i++) for (const p of b.take(25)) absB.push(i * 25 + p);
    expect(absA.length).toBeGreaterThan(0);
    expect(absB).toEqual(absA);
  });
});
