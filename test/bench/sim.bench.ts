import { NS_PER_S } from '@mcubus/firmware-sim';
import { referenceUnderLoad } from '../support/reference-load.js';
import { type BenchResult, result } from './harness.js';

/** Simulated seconds per wall second for the reference board under load, over one simulated hour (target ≥ 200). */
export function run(): BenchResult[] {
  const simulatedS = Number(process.env.MCUBUS_BENCH_SIM_SECONDS ?? 3600);
  const { board, host } = referenceUnderLoad(1);
  const started = process.hrtime.bigint();
  board.sim.runFor(simulatedS * NS_PER_S);
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  if (host.received.length < simulatedS * 4)
    throw new Error('the board did not run (too few frames at the host)');
  return [
    result(
      'sim.speed',
      simulatedS / wallS,
      'sim s / wall s',
      200,
      `reference board (4 MCUs, heartbeats, telemetry, time sync) for ${simulatedS} s simulated, ${board.sim.scheduler.executed} events; ceiling = the 200× target`,
    ),
  ];
}
