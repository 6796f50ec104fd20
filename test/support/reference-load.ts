import { buildBoard, NS_PER_S, referenceBoard, type SimBoard } from '@mcubus/firmware-sim';
import { ScriptedHost } from './scripted-host.js';

/**
 * The reference board under its everyday load: every MCU heartbeats (1 Hz) and streams telemetry, the
 * gateway syncs its CAN nodes, and the host runs a time-sync exchange with every device each second.
 */
export function referenceUnderLoad(seed: number, traceKeep = 0): { board: SimBoard; host: ScriptedHost } {
  const board = buildBoard(referenceBoard(), seed, { traceKeep });
  const host = new ScriptedHost(board);
  const sync = () => {
    for (const dst of [0x10, 0x21, 0x22, 0x30]) {
      host.send(
        dst,
        { type: 'time_sync_req', body: { t1: Math.round(board.sim.now / 1000) } },
        { priority: 0 },
      );
    }
    board.sim.scheduler.after(NS_PER_S, sync);
  };
  board.sim.scheduler.at(0.5 * NS_PER_S, sync);
  return { board, host };
}
