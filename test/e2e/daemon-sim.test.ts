import { buildBoard, NS_PER_S, referenceBoard } from '@mcubus/firmware-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonOn, settle, stateDirs } from '../support/sim-daemon.js';

describe('mcubusd on the simulated reference board (virtual time)', () => {
  const dirs = stateDirs('mcubus-e2e-');
  const stateDir = dirs.make;
  afterEach(dirs.cleanup);

  it('discovers all four MCUs, the two behind the gateway included, and pings through the gateway', async () => {
    const board = buildBoard(referenceBoard(), 1);
    const { daemon, registry } = daemonOn(board, stateDir());
    await daemon.start();
    board.sim.runFor(3 * NS_PER_S);
    const devices = daemon.devices();
    expect(devices.map((d) => d.address).sort()).toEqual([0x10, 0x21, 0x22, 0x30]);
    const by = Object.fromEntries(devices.map((d) => [d.address, d]));
    expect(by[0x10]).toMatchObject({
      bus: 'uart0',
      via: null,
      hops: 0,
      mode: 'app',
      firmwareVersion: '1.0.0',
    });
    expect(by[0x21]).toMatchObject({ bus: 'uart0', via: 0x10, hops: 1, hardwareId: 'mcubus-ref-node' });
    expect(by[0x22]).toMatchObject({ bus: 'uart0', via: 0x10, hops: 1 });
    expect(by[0x30]).toMatchObject({ bus: 'rs485', via: null, hops: 0, hardwareId: 'mcubus-ref-modbus' });

    const ping = await settle(board, daemon.ping(0x22));
    expect(ping.ok).toBe(true);
    expect(ping.rttMs).toBeGreaterThan(1); // UART both ways plus CAN both ways
    expect(ping.rttMs).toBeLessThan(50);
    const viaModbus = await settle(board, daemon.ping(0x30));
    expect(viaModbus.ok).toBe(true);
    expect(daemon.events({ limit: 50 }).filter((e) => e.kind === 'device.new')).toHaveLength(4);
    const status = daemon.status();
    expect(status.buses.map((b) => [b.name, b.state])).toEqual([
      ['uart0', 'open'],
      ['rs485', 'open'],
    ]);
    await daemon.stop();
    registry.close();
  });

  it('keeps the registry across a daemon restart', async () => {
    const dir = stateDir();
    const board = buildBoard(referenceBoard(), 2);
    const first = daemonOn(board, dir);
    await first.daemon.start();
    board.sim.runFor(3 * NS_PER_S);
    const before = first.daemon.devices();
    await first.daemon.stop();
    first.registry.close();

    const second = daemonOn(board, dir);
    // Before hearing anything, the restarted daemon already knows the board.
    expect(second.daemon.devices()).toEqual(before);
    await second.daemon.start();
    board.sim.runFor(2 * NS_PER_S);
    const after = second.daemon.devices();
    expect(after.map((d) => d.address)).toEqual(before.map((d) => d.address));
    expect(after.every((d, i) => d.lastSeenMs > before[i]!.lastSeenMs)).toBe(true);
    expect(second.daemon.events({ limit: 100 }).filter((e) => e.kind === 'device.new')).toHaveLength(4);
    await second.daemon.stop();
    second.registry.close();
  });

  it('says why a request fails: unknown device, or no answer from a powered-off node', async () => {
    const board = buildBoard(
      { ...referenceBoard(), faults: [{ atMs: 2500, kind: 'power_off', mcu: 'node-b' }] },
      3,
    );
    const { daemon, registry } = daemonOn(board, stateDir());
    await daemon.start();
    board.sim.runFor(3 * NS_PER_S);
    expect(await settle(board, daemon.ping(0x55))).toEqual({
      ok: false,
      error: 'no route to 0x55: never heard from it',
    });
    const dead = await settle(board, daemon.ping(0x22, 100));
    expect(dead).toMatchObject({ ok: false, error: 'no answer after 4 attempt(s)' });
    await daemon.stop();
    registry.close();
  });
});
