import { buildBoard, NS_PER_S, referenceBoard } from '@mcubus/firmware-sim';
import { describe, expect, it } from 'vitest';
import { ScriptedHost } from '../support/scripted-host.js';

describe('gateway as time master of its downstream bus', () => {
  it('reports TIME_MAP for each CAN node, matching the true clocks within its error bound', () => {
    const board = buildBoard(referenceBoard(), 21);
    const host = new ScriptedHost(board);
    const gw = board.mcus.get('gw')!;
    const checks: { node: number; errorUs: number; bound: number }[] = [];
    host.onReceive((rx) => {
      if (rx.message.type !== 'time_map') return;
      const { node, at, offsetUs, errorBoundUs } = rx.message.body;
      const mcu = [...board.mcus.values()].find((m) => m.address === node)!;
      // Ground truth at the moment the gateway's (unwrapped) clock read `at`: sent just now.
      const t = board.sim.now;
      const gwNowUs = gw.clock.deviceNsAt(t) / 1000;
      const tAt = t - (gwNowUs - at) * 1000;
      let trueOffset = mcu.clock.deviceNsAt(tAt) / 1000 - gw.clock.deviceNsAt(tAt) / 1000;
      // The node's 32-bit counter wraps: offsets are defined modulo its width.
      const bits = mcu.clock.counterBits;
      if (bits < 53)
        trueOffset =
          ((((trueOffset - offsetUs) % 2 ** bits) + 2 ** bits + 2 ** (bits - 1)) % 2 ** bits) -
          2 ** (bits - 1) +
          offsetUs;
      checks.push({ node, errorUs: Math.abs(offsetUs - trueOffset), bound: errorBoundUs });
    });
    board.sim.runFor(30 * NS_PER_S);
    for (const node of [0x21, 0x22]) {
      const mine = checks.filter((c) => c.node === node);
      expect(mine.length, `TIME_MAP reports for 0x${node.toString(16)}`).toBeGreaterThanOrEqual(4);
      for (const c of mine) expect(c.errorUs).toBeLessThanOrEqual(c.bound);
      // Wire-close stamps on both sides: the mapping is good to a few µs.
      expect(Math.max(...mine.map((c) => c.errorUs))).toBeLessThan(20);
    }
  });
});
