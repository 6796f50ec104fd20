import { buildBoard, loadScenario, RealtimeDriver, type SimBoard } from '@mcubus/firmware-sim';
import type { SimulatorConfig } from '../config/types.js';
import { simRuntime } from '../transports/sim/sim-runtime.js';
import type { Runtime } from './runtime.js';

/**
 * The embedded simulated board, running in step with the wall clock: the daemon's runtime is the
 * board's virtual clock, so daemon and devices share one time line, exactly as in the tests.
 */
export function startEmbeddedBoard(config: SimulatorConfig): {
  board: SimBoard;
  runtime: Runtime;
  driver: RealtimeDriver;
} {
  const board = buildBoard(loadScenario(config.scenario), config.seed, { traceKeep: 0 });
  const driver = new RealtimeDriver(board.sim);
  const runtime = simRuntime(board.sim, Date.now());
  return { board, runtime, driver };
}
