import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { mutatedBytes } from './mutate.js';
import type { FuzzTarget } from './targets.js';

/**
 * Per-input time budget: a parser that takes longer on one input counts it as a hang. Inputs take
 * well under 1 ms on average; the bound is wide because a loaded CI machine (GC, other test forks)
 * stalls a healthy input for 100 ms at times. A parser stuck for good is caught by run.ts's watchdog.
 */
export const HANG_MS = 2000;

export interface FuzzReport {
  readonly parser: string;
  readonly inputs: number;
  /** Outcome code → how many times it was seen. */
  readonly codes: Record<string, number>;
  readonly crashes: number;
  readonly hangs: number;
  readonly slowestMs: number;
  readonly seconds: number;
  /** First failure (untyped throw, unknown code or hang), with the input in hex. */
  readonly failure?: string;
}

/**
 * Runs `inputs` generated inputs through one target. Property failures are crashes (an untyped throw
 * or a code outside the target's set) and hangs (over HANG_MS); fast-check shrinks the first one.
 */
export async function fuzz(target: FuzzTarget, inputs: number, seed = 1): Promise<FuzzReport> {
  const codes: Record<string, number> = {};
  let slowestMs = 0;
  const check = (got: string[], ms: number, input: Uint8Array) => {
    if (ms > slowestMs) slowestMs = ms;
    if (ms > HANG_MS) throw new Error(`hang: ${ms.toFixed(0)} ms on ${Buffer.from(input).toString('hex')}`);
    for (const c of got) {
      if (!target.codes.has(c)) throw new Error(`untyped or unknown outcome "${c}"`);
      codes[c] = (codes[c] ?? 0) + 1;
    }
  };
  const arb = mutatedBytes(target.seeds(), target.maxRandom);
  const started = performance.now();
  const params = { numRuns: inputs, seed, endOnFailure: true };
  const sync = target.run.constructor.name !== 'AsyncFunction';
  const result = sync
    ? fc.check(
        fc.property(arb, (input) => {
          const t0 = performance.now();
          const got = target.run(input) as string[];
          check(got, performance.now() - t0, input);
        }),
        params,
      )
    : await fc.check(
        fc.asyncProperty(arb, async (input) => {
          const t0 = performance.now();
          const got = await target.run(input);
          check(got, performance.now() - t0, input);
        }),
        params,
      );
  const failed = result.failed
    ? `${String(result.errorInstance)}\n${fc.defaultReportMessage(result)}`
    : undefined;
  const hang = failed?.includes('hang:') ?? false;
  return {
    parser: target.name,
    inputs: result.numRuns,
    codes,
    crashes: failed && !hang ? 1 : 0,
    hangs: hang ? 1 : 0,
    slowestMs: Math.round(slowestMs * 10) / 10,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    ...(failed ? { failure: failed } : {}),
  };
}
