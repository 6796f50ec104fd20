import { type BoardSpec, buildBoard, NS_PER_S, referenceBoard } from '@mcubus/firmware-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonOn, settle, stateDirs } from '../support/sim-daemon.js';

const dirs = stateDirs('mcubus-faults-');

function run(spec: BoardSpec, seed: number) {
  const board = buildBoard(spec, seed);
  return { board, ...daemonOn(board, dirs.make()) };
}

afterEach(dirs.cleanup);

describe('mcubusd under faults', () => {
  it('garbage on the UART: counted and journaled, the frames after it still arrive', async () => {
    const noise = [2000, 2300, 2600].map((atMs) => ({
      atMs,
      kind: 'noise' as const,
      bus: 'uart0',
      bytes: 40,
      towardHost: true,
    }));
    const { board, daemon, registry } = run({ ...referenceBoard(), faults: noise }, 4);
    await daemon.start();
    board.sim.runFor(3 * NS_PER_S);
    const bad = daemon
      .events({ limit: 100 })
      .filter((e) => e.kind === 'bus.bad_frame' || e.kind === 'bus.bad_input');
    expect(bad.length).toBeGreaterThanOrEqual(1);
    expect(bad[0]).toMatchObject({ bus: 'uart0', severity: 'warning' });
    const uart = daemon.status().buses.find((b) => b.name === 'uart0')!;
    const badCount = Object.entries(uart.counters)
      .filter(([k]) => k.startsWith('cobs') || k === 'link_bad_frames')
      .reduce((s, [, v]) => s + v, 0);
    expect(badCount).toBeGreaterThanOrEqual(1);
    // The line recovered: a ping through the gateway still works.
    expect((await settle(board, daemon.ping(0x21))).ok).toBe(true);
    await daemon.stop();
    registry.close();
  });

  it('a silent Modbus device is reported, and the other bus keeps serving', async () => {
    const { board, daemon, registry } = run(
      { ...referenceBoard(), faults: [{ atMs: 1500, kind: 'power_off', mcu: 'node-m' }] },
      5,
    );
    await daemon.start();
    board.sim.runFor(3 * NS_PER_S);
    const errors = daemon.events({ limit: 100 }).filter((e) => e.kind === 'bus.error' && e.bus === 'rs485');
    expect(errors[0]?.message).toMatch(/did not answer/);
    expect((await settle(board, daemon.ping(0x30, 200))).ok).toBe(false);
    expect((await settle(board, daemon.ping(0x10))).ok).toBe(true);
    await daemon.stop();
    registry.close();
  });
});
