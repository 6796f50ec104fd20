import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBoard, NS_PER_MS, referenceBoard } from '@mcubus/firmware-sim';
import { describe, expect, it } from 'vitest';
import { daemonOn } from '../support/sim-daemon.js';

describe('third-party Modbus device health from register reads', () => {
  it('is up while its registers are in range, degraded out of range, down when it stops answering', async () => {
    const board = buildBoard(
      {
        ...referenceBoard(),
        thirdParty: [
          { name: 'meter', bus: 'rs485', slave: 9, registers: [{ fn: 4, start: 0, values: [250, 251] }] },
        ],
        faults: [
          { atMs: 4000, kind: 'register', device: 'meter', fn: 4, address: 1, value: 900 },
          { atMs: 7000, kind: 'third_party_power', device: 'meter', on: false },
        ],
      },
      41,
    );
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-tp-'));
    const { daemon, registry } = daemonOn(board, dir, {
      registerProbes: [
        { bus: 'rs485', slave: 9, fn: 4, start: 0, quantity: 2, expect: { min: 200, max: 300 } },
      ],
    });
    await daemon.start();
    const states: string[] = [];
    const at = async (seconds: number) => {
      while (board.sim.now < seconds * 1e9) {
        board.sim.runFor(20 * NS_PER_MS);
        await Promise.resolve();
      }
      states.push(daemon.health().find((h) => h.address === 0x109)?.state ?? 'missing');
    };
    await at(3);
    await at(6);
    await at(12);
    expect(states).toEqual(['up', 'degraded', 'down']);
    const history = daemon.healthOf(0x109)!.history.map((e) => e.message);
    expect(history.some((m) => /degraded .*900 outside 200…300/.test(m))).toBe(true);
    expect(history.some((m) => /→ down .*3 read\(s\) failed/.test(m))).toBe(true);
    // The mcubus devices on the same line are unaffected.
    expect(daemon.health().find((h) => h.address === 0x30)?.state).toBe('up');
    await daemon.stop();
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
