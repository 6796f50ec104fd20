import { buildBoard, NS_PER_S, referenceBoard } from '@mcubus/firmware-sim';
import { DeviceMode, ResetReason, SlotFlag } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { ScriptedHost } from '../support/scripted-host.js';

describe('boot path and identity come from the simulated flash', () => {
  it('HELLO reports the factory application, its slot and the bootloader', () => {
    const board = buildBoard(referenceBoard(), 11);
    const host = new ScriptedHost(board);
    board.sim.runFor(0.5 * NS_PER_S);
    const hello = host.framesFrom(0x21, 'hello')[0]?.message;
    expect(hello?.type).toBe('hello');
    if (hello?.type !== 'hello') return;
    expect(hello.body).toMatchObject({
      firmwareVersion: [1, 0, 0],
      bootloaderVersion: [1, 0, 0],
      mode: DeviceMode.app,
    });
    const active = hello.body.slots.find((s) => s.flags & SlotFlag.active);
    expect(active).toMatchObject({ index: 0, version: [1, 0, 0], size: 48 * 1024 });
    expect(active!.flags & SlotFlag.confirmed).toBeTruthy();
  });

  it('RESET into the bootloader: the device comes back in bootloader mode and still heartbeats', () => {
    const board = buildBoard(referenceBoard(), 12);
    const host = new ScriptedHost(board);
    board.sim.runFor(0.5 * NS_PER_S);
    expect(host.ask(0x22, { type: 'reset', body: { target: 1 } })?.message.type).toBe('ok');
    board.sim.runFor(2 * NS_PER_S);
    const hello = host.framesFrom(0x22, 'hello').at(-1)?.message;
    expect(hello).toMatchObject({
      type: 'hello',
      body: { mode: DeviceMode.bootloader, firmwareVersion: [0, 0, 0] },
    });
    const hb = host.framesFrom(0x22, 'heartbeat').at(-1)?.message;
    expect(hb).toMatchObject({
      type: 'heartbeat',
      body: { mode: DeviceMode.bootloader, resetReason: ResetReason.software },
    });
    // A plain reset returns to the application.
    expect(host.ask(0x22, { type: 'reset', body: {} })?.message.type).toBe('ok');
    board.sim.runFor(1 * NS_PER_S);
    expect(host.framesFrom(0x22, 'hello').at(-1)?.message).toMatchObject({ body: { mode: DeviceMode.app } });
  });
});
