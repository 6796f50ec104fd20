import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AlignmentStats,
  observeAlignment,
  quantile,
  startTimeScenario,
  type TimeScenarioName,
} from '../support/time-scenarios.js';
import { type BenchResult, result } from './harness.js';

/**
 * Time alignment (issue 6): the real daemon in virtual time against simulated clocks of ±100 ppm
 * with a random-walk drift, host stamps jittered as the host's bus would (serial 'data' events: up
 * to 2 ms, bursty; SocketCAN kernel timestamps: 50 µs with the same bursts). After a 60 s warm-up,
 * ten simulated minutes of device timestamps are placed on the host timeline and compared with the
 * simulator's true time.
 */
const WARMUP_S = 60;
const MEASURE_S = 600;
const SEEDS = [1, 2, 3, 4];

const TARGETS: Record<TimeScenarioName, number> = { uart115200: 50, can500k: 20, via_gateway: 100 };

function runScenario(name: TimeScenarioName, seed: number): AlignmentStats {
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-time-bench-'));
  try {
    const s = startTimeScenario(name, seed, dir);
    s.board.sim.runFor(WARMUP_S * 1e9);
    const stats = observeAlignment(s, MEASURE_S);
    void s.daemon.stop();
    return stats;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function merge(all: AlignmentStats[]): AlignmentStats {
  return {
    errorsUs: all.flatMap((s) => s.errorsUs),
    boundsUs: all.flatMap((s) => s.boundsUs),
    covered: all.reduce((a, s) => a + s.covered, 0),
    skewErrorsPpm: all.flatMap((s) => s.skewErrorsPpm),
    naiveErrorsUs: all.flatMap((s) => s.naiveErrorsUs),
  };
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const every: AlignmentStats[] = [];
  let uart: AlignmentStats | null = null;
  for (const name of ['uart115200', 'can500k', 'via_gateway'] as const) {
    const stats = merge(SEEDS.map((seed) => runScenario(name, seed)));
    every.push(stats);
    if (name === 'uart115200') uart = stats;
    const p99 = quantile(stats.errorsUs, 0.99);
    out.push(
      result(
        `time.${name}.error_p99_us`,
        p99,
        'µs',
        TARGETS[name],
        `target ≤ ${TARGETS[name]} µs; ratio ≤ 1 meets it`,
      ),
      result(
        `time.${name}.bound_coverage`,
        stats.covered / stats.errorsUs.length,
        'fraction',
        0.99,
        `true error within the reported bound; median bound ${quantile(stats.boundsUs, 0.5).toFixed(1)} µs`,
      ),
    );
  }
  if (uart) {
    const ours = quantile(uart.errorsUs, 0.99);
    const naive = quantile(uart.naiveErrorsUs, 0.99);
    out.push(
      result(
        'time.vs_offset_only',
        naive / ours,
        '×',
        10,
        `UART p99: offset-only ${naive.toFixed(0)} µs vs ours ${ours.toFixed(1)} µs; ceiling = the 10× target`,
      ),
    );
  }
  const all = merge(every);
  out.push(
    result(
      'time.skew_error_ppm_p99',
      quantile(all.skewErrorsPpm, 0.99),
      'ppm',
      0.5,
      'all scenarios; target ≤ 0.5',
    ),
    result(
      'time.bound_coverage',
      all.covered / all.errorsUs.length,
      'fraction',
      0.99,
      'all scenarios; target ≥ 0.99',
    ),
  );
  return out;
}
