import { buildBoard, NS_PER_S, referenceBoard } from '@mcubus/firmware-sim';
import { describe, expect, it } from 'vitest';
import { ScriptedHost } from '../support/scripted-host.js';

describe('reference board (gateway on UART, two CAN nodes behind it, one Modbus node)', () => {
  it('every MCU says hello and heartbeats once per period, through the gateway and over Modbus', () => {
    const board = buildBoard(referenceBoard(), 1);
    const host = new ScriptedHost(board);
    board.sim.runFor(10.5 * NS_PER_S);
    for (const [name, address] of [
      ['gw', 0x10],
      ['node-a', 0x21],
      ['node-b', 0x22],
      ['node-m', 0x30],
    ] as const) {
      const hellos = host.framesFrom(address, 'hello');
      expect(hellos.length, `${name} hello`).toBe(1);
      const hb = host.framesFrom(address, 'heartbeat');
      expect(hb.length, `${name} heartbeats`).toBeGreaterThanOrEqual(10);
      expect(hb.length, `${name} heartbeats`).toBeLessThanOrEqual(11);
    }
    expect(host.badFrames).toEqual([]);
    // Master and slave keep the Modbus silent intervals.
    expect(board.links.modbus.get('rs485')!.counters).toMatchObject({
      t35Violations: 0,
      t15Gaps: 0,
      collisions: 0,
    });
    // Telemetry from behind the gateway carries device timestamps.
    expect(host.framesFrom(0x21, 'telemetry').length).toBeGreaterThan(15);
  });

  it('answers requests through the gateway (CAN node) and through the Modbus tunnel', () => {
    const board = buildBoard(referenceBoard(), 2);
    const host = new ScriptedHost(board);
    board.sim.runFor(1 * NS_PER_S);
    const pong = host.ask(0x21, { type: 'ping', body: { nonce: 42 } });
    expect(pong?.message).toMatchObject({ type: 'pong', body: { nonce: 42 } });
    expect(pong?.header.ttl).toBe(7); // one gateway hop
    const hello = host.ask(0x30, { type: 'identify', body: {} });
    expect(hello?.message).toMatchObject({
      type: 'hello',
      body: { hardwareId: 'mcubus-ref-modbus', mode: 1 },
    });
    const gwHello = host.ask(0x10, { type: 'identify', body: {} });
    expect(gwHello?.message).toMatchObject({ type: 'hello', body: { capabilities: expect.any(Number) } });
  });
});
