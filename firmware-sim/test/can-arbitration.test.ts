import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arbitrate, arbitrationBits, arbitrationKey } from '../src/links/can-arbitration.js';

type Id = { id: number; extended: boolean };

/** Reference encoder, independent of the module: the arbitration field as sent, MSB first. */
function fieldBits({ id, extended }: Id): number[] {
  const bits = (value: number, width: number) =>
    Array.from({ length: width }, (_, i) => (value >>> (width - 1 - i)) & 1);
  return extended ? [...bits(id >>> 18, 11), 1, 1, ...bits(id & 0x3ffff, 18), 0] : [...bits(id, 11), 0, 0];
}

/** Reference: send both fields bit by bit; the first to send recessive against dominant loses. */
function wireWinner(a: Id, b: Id): 'a' | 'b' | 'tie' {
  const x = fieldBits(a);
  const y = fieldBits(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] === 0 ? 'a' : 'b';
  }
  // A base and an extended field always differ at index 11 (RTR 0 against SRR 1), so equal
  // prefixes mean the same arbitration field.
  expect(x.length).toBe(y.length);
  return 'tie';
}

const anyId = fc.oneof(
  fc.record({ id: fc.integer({ min: 0, max: 0x7ff }), extended: fc.constant(false) }),
  fc.record({ id: fc.integer({ min: 0, max: 0x1fffffff }), extended: fc.constant(true) }),
);

describe('CAN arbitration', () => {
  it('reports the fields in wire order: base ID RTR IDE, or base ID SRR IDE extension RTR', () => {
    expect(arbitrationBits({ id: 0x5a5, extended: false }).join('')).toBe('10110100101' + '0' + '0');
    expect(arbitrationBits({ id: (0x5a5 << 18) | 0x2aaaa, extended: true }).join('')).toBe(
      '10110100101' + '1' + '1' + '101010101010101010' + '0',
    );
  });

  it('lets a base frame beat an extended frame with the same 11-bit base id (at SRR)', () => {
    const base = { id: 0x100, extended: false };
    const extended = { id: 0x100 << 18, extended: true }; // lowest extension
    expect(wireWinner(base, extended)).toBe('a');
    expect(arbitrationKey(base)).toBeLessThan(arbitrationKey(extended));
    // ...but any lower base id wins, whatever the format.
    expect(arbitrationKey({ id: (0x0ff << 18) | 0x3ffff, extended: true })).toBeLessThan(
      arbitrationKey(base),
    );
  });

  it('orders keys exactly as bitwise arbitration on the wire decides', () => {
    fc.assert(
      fc.property(anyId, anyId, (a, b) => {
        const wire = wireWinner(a, b);
        const ka = arbitrationKey(a);
        const kb = arbitrationKey(b);
        expect(wire).toBe(ka === kb ? 'tie' : ka < kb ? 'a' : 'b');
      }),
      { numRuns: 2000 },
    );
    // Random ids rarely share a base id; these pairs do, so the SRR/IDE and extension bits decide.
    const sameBase = fc.record({
      base: fc.integer({ min: 0, max: 0x7ff }),
      x: fc.integer({ min: 0, max: 0x3ffff }),
      y: fc.integer({ min: 0, max: 0x3ffff }),
      kinds: fc.constantFrom('std-ext', 'ext-std', 'ext-ext', 'std-std'),
    });
    fc.assert(
      fc.property(sameBase, ({ base, x, y, kinds }) => {
        const [ka, kb] = kinds.split('-');
        const a = ka === 'ext' ? { id: (base << 18) | x, extended: true } : { id: base, extended: false };
        const b = kb === 'ext' ? { id: (base << 18) | y, extended: true } : { id: base, extended: false };
        const keyA = arbitrationKey(a);
        const keyB = arbitrationKey(b);
        expect(wireWinner(a, b)).toBe(keyA === keyB ? 'tie' : keyA < keyB ? 'a' : 'b');
      }),
      { numRuns: 1000 },
    );
  });

  it('picks the lowest key, the first listed on a tie', () => {
    expect(arbitrate([5, 3, 9, 3])).toBe(1);
    expect(arbitrate([7])).toBe(0);
    expect(arbitrate([])).toBe(-1);
  });
});
