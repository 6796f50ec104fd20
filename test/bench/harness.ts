/**
 * The benchmark contract: each `*.bench.ts` file under test/bench exports `run()`, returning results
 * whose `ratio` is the measured value over a ceiling (physical or reference) computed or measured in the
 * same run, so results compare across machines.
 */
export interface BenchResult {
  /** Dotted id, e.g. "codec.overhead.uart_1k". */
  readonly id: string;
  readonly value: number;
  readonly unit: string;
  readonly ceiling: number;
  /** value / ceiling. */
  readonly ratio: number;
  /** What the ceiling is, in a few words. */
  readonly note?: string;
}

export type Bench = () => Promise<BenchResult[]> | BenchResult[];

export function result(id: string, value: number, unit: string, ceiling: number, note?: string): BenchResult {
  return { id, value, unit, ceiling, ratio: value / ceiling, ...(note ? { note } : {}) };
}

/** Runs `fn` repeatedly for at least `minMs` and returns operations per second (after a warm-up). */
export function opsPerSecond(fn: () => void, minMs = 400): number {
  for (let i = 0; i < 200; i++) fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0n;
  const budget = BigInt(minMs) * 1_000_000n;
  while (elapsedNs < budget) {
    for (let i = 0; i < 100; i++) fn();
    ops += 100;
    elapsedNs = process.hrtime.bigint() - start;
  }
  return ops / (Number(elapsedNs) / 1e9);
}
