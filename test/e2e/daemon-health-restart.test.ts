import { buildBoard, NS_PER_S, referenceBoard } from '@mcubus/firmware-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { advance, daemonOn, stateDirs } from '../support/sim-daemon.js';

const dirs = stateDirs('mcubus-health-restart-');
afterEach(dirs.cleanup);

describe('health across a daemon restart', () => {
  // Found by the simulation soak (seed 2, reference board): node-b was powered off just before the
  // daemon restarted, and the new daemon never listed it in health() at all.
  it('a known device that stays silent after the restart is reported down; the others up', async () => {
    const board = buildBoard(referenceBoard(), 31);
    const state = dirs.make();
    const first = daemonOn(board, state);
    void first.daemon.start();
    board.sim.runFor(10 * NS_PER_S);
    board.mcus.get('node-b')!.powerOff();
    await first.daemon.stop();
    first.registry.close();
    const second = daemonOn(board, state);
    void second.daemon.start();
    // In steps: start() carries on after its transports opened (promise continuations).
    await advance(board, 15);
    expect(second.daemon.health().map((h) => [h.name, h.state])).toEqual([
      ['gw', 'up'],
      ['node-a', 'up'],
      ['node-b', 'down'],
      ['node-m', 'up'],
    ]);
    // Newest first: up (the first run), then suspect and down 7.3 s after the restart.
    const changes = second.daemon
      .events({ device: 0x22, limit: 10 })
      .filter((e) => e.kind === 'health.state');
    expect(changes.map((e) => (e.data as { to: string }).to)).toEqual(['down', 'suspect', 'up']);
    await second.daemon.stop();
    second.registry.close();
  });
});
