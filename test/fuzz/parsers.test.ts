import { describe, expect, it } from 'vitest';
import { fuzz } from './fuzz-core.js';
import { TARGETS } from './targets.js';

/**
 * The bounded CI run of the parser fuzzer (issue 11): every parser that reads outside input gets
 * mutated golden seeds and random bytes; none may throw untyped, hang, or reject with an unknown code.
 * The long run is `npm run fuzz -- --inputs 1000000` (figures in docs/reliability.md, "Bad input").
 */
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 10_000);

describe('parser fuzzing (bounded)', () => {
  for (const target of TARGETS) {
    const n = target.slow ? INPUTS / 5 : INPUTS;
    it(`${target.name}: ${n} inputs, 0 crashes, 0 hangs, only typed errors`, async () => {
      const r = await fuzz(target, n);
      expect(r.failure, r.failure).toBeUndefined();
      expect(r.inputs).toBe(n);
      // The seeds must reach past the first check: at least one rejection code besides 'ok'.
      expect(Object.keys(r.codes).filter((c) => c !== 'ok').length).toBeGreaterThan(0);
    });
  }
});
