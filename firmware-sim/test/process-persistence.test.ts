import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildBoard } from '../src/board/build.js';
import type { BoardSpec } from '../src/board/spec.js';
import { Flash } from '../src/flash/index.js';
import { ms, Sim } from '../src/kernel/index.js';
import { CRASH_AFTER_NS, crashOnBoot, isVersionText } from '../src/process/crash-on-boot.js';
import { keepFlashInFile } from '../src/process/flash-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sim-flash-'));
  dirs.push(d);
  return d;
}

describe('flash kept in a file (process mode --flash-dir)', () => {
  it('writes the chip through at every operation and gives it back to a new simulator', () => {
    const dir = tempDir();
    const first = new Flash(new Sim(1), 'a', { sectorSize: 4096, sectorCount: 4 });
    first.factoryProgram(0, new Uint8Array(16).fill(0x11));
    const close = keepFlashInFile(first, dir, 'mcu');
    const file = join(dir, 'mcu.flash');
    expect(statSync(file).size).toBe(16384);
    expect(readFileSync(file)[0]).toBe(0x11);

    first.erase(1, () => {});
    first.program(4096, new Uint8Array(8).fill(0x42), () => {});
    first.sim.runFor(ms(30));
    close();
    // No orderly shutdown is needed: the file already holds both operations.
    const bytes = readFileSync(file);
    expect([...bytes.subarray(4096, 4104)]).toEqual(new Array(8).fill(0x42));
    expect(bytes[4104]).toBe(0xff);

    const second = new Flash(new Sim(2), 'b', { sectorSize: 4096, sectorCount: 4 });
    keepFlashInFile(second, dir, 'mcu')();
    expect([...second.read(0, 2)]).toEqual([0x11, 0x11]);
    expect([...second.read(4096, 9)]).toEqual([...new Array(8).fill(0x42), 0xff]);
  });

  it('refuses a file of another flash size', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mcu.flash'), new Uint8Array(100));
    const flash = new Flash(new Sim(1), 'a', { sectorSize: 4096, sectorCount: 4 });
    expect(() => keepFlashInFile(flash, dir, 'mcu')).toThrow(/holds 100 bytes, but mcu's flash is 16384/);
  });
});

describe('a crashing application version (process mode --crash-version)', () => {
  const spec: BoardSpec = {
    name: 'one',
    buses: [{ kind: 'uart', name: 'uart0', baud: 115200, ends: ['host', 'n'] }],
    host: { buses: ['uart0'] },
    mcus: [{ name: 'n', address: 0x21, hardwareId: 'node-v1', ports: [{ bus: 'uart0' }] }],
  };

  it('crashes that version shortly after each boot and leaves others alone', () => {
    const crashing = buildBoard(spec, 1);
    crashOnBoot(crashing.mcus.get('n')!, '1.0.0');
    crashing.sim.runFor(ms(3000));
    const crashes = crashing.sim.trace.tail().filter((r) => r.event === 'crash');
    expect(crashes.length).toBeGreaterThanOrEqual(2);
    expect(crashes[0]!.t).toBeGreaterThan(CRASH_AFTER_NS);

    const fine = buildBoard(spec, 1);
    crashOnBoot(fine.mcus.get('n')!, '1.1.0');
    fine.sim.runFor(ms(3000));
    expect(fine.sim.trace.tail().some((r) => r.event === 'crash')).toBe(false);
  });

  it('takes only version text', () => {
    expect(isVersionText('1.2.0')).toBe(true);
    expect(isVersionText('1.2.0.7')).toBe(true);
    expect(isVersionText('1.2')).toBe(false);
    expect(isVersionText('v1.2.0')).toBe(false);
  });
});
