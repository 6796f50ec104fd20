import fc from 'fast-check';

/**
 * Mutation-based input generator, the stand-in for a coverage-guided fuzzer (see docs/reliability.md,
 * "Bad input"): most inputs are a golden seed with a few byte-level edits, so they get past the first
 * checks of a parser and into its deeper branches, which purely random bytes rarely reach.
 */

/** One edit; positions and lengths are taken modulo the current input so every op applies. */
interface Op {
  readonly kind: number;
  readonly pos: number;
  readonly val: number;
  readonly len: number;
}

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.integer({ min: 0, max: 7 }),
  pos: fc.nat(),
  val: fc.nat(255),
  len: fc.integer({ min: 1, max: 64 }),
});

/** Values that sit on the edges of length and count fields. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x3f, 0x40, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f];

export function applyOps(seed: Uint8Array, ops: readonly Op[], donors: readonly Uint8Array[]): Uint8Array {
  let b = Array.from(seed);
  for (const o of ops) {
    const at = b.length === 0 ? 0 : o.pos % (b.length + 1);
    switch (o.kind) {
      case 0: // flip one bit
        if (b.length > 0) b[at % b.length]! ^= 1 << (o.val & 7);
        break;
      case 1: // overwrite a byte
        if (b.length > 0) b[at % b.length] = o.val;
        break;
      case 2: // overwrite with a boundary value
        if (b.length > 0) b[at % b.length] = INTERESTING[o.val % INTERESTING.length]!;
        break;
      case 3: // insert bytes
        b.splice(at, 0, ...Array.from({ length: o.len % 8 }, (_, i) => (o.val + i * 37) & 0xff));
        break;
      case 4: // delete a run
        b.splice(at, o.len % 16);
        break;
      case 5: // truncate
        b = b.slice(0, at);
        break;
      case 6: {
        // splice in a run from another seed (crossover)
        const d = donors[o.val % donors.length]!;
        const from = d.length === 0 ? 0 : o.pos % d.length;
        b.splice(at, 0, ...d.subarray(from, from + o.len));
        break;
      }
      default: {
        // duplicate a run (repeated fields, nested structures)
        const run = b.slice(at, at + o.len);
        b.splice(at, 0, ...run);
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

/** Seeds mutated (mostly), plain seeds, and random bytes. */
export function mutatedBytes(seeds: readonly Uint8Array[], maxRandom = 300): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .tuple(fc.constantFrom(...seeds), fc.array(op, { minLength: 1, maxLength: 8 }))
    .map(([s, ops]) => applyOps(s, ops, seeds));
  return fc.oneof(
    { weight: 16, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 3, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
  );
}
