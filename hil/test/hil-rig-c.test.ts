import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCDevice, posixDeviceBuildable } from '../../test/support/c-device.js';
import { assertAvailable, shouldSkip } from '../../test/support/requirements.js';
import { assertBuilt, figures, problems, ROOT, readJUnit, runHil } from './support/run-hil.js';

const C_RIG = join(ROOT, 'hil/rigs/c-posix/rig.yaml');
const buildable = posixDeviceBuildable();

/**
 * The rig against the C device library (protocol/c) running as Linux processes on ptys (issue 9):
 * the same suites as against the simulator — discovery, health with power cuts, time, and updates
 * through power cuts and a crashing image — on an independent implementation of the device side.
 */
describe.skipIf(shouldSkip(buildable))('mcubus-hil against C POSIX-port devices', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('passes discovery, health, time and update (power cuts, rollback)', async () => {
    assertAvailable(buildable);
    assertBuilt();
    const make = buildCDevice();
    expect(make.ok, make.output).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'hil-c-'));
    dirs.push(dir);
    const out = join(dir, 'out');
    const suites = 'discovery,health,time,update';
    const r = await runHil([
      'run',
      suites,
      '--config',
      C_RIG,
      '--out',
      out,
      '--work-dir',
      join(dir, 'work'),
      '--seed',
      '3',
    ]);
    const junit = readJUnit(join(out, 'junit.xml'));
    const all = junit.testsuites.testsuite;
    expect(all.map((s) => problems(s)).join('')).toBe('');
    expect(r.code, r.stdout.slice(-2000)).toBe(0);
    const [discovery, health, time, update] = all;
    expect(discovery!.testcase.map((c) => c.name)).toEqual([
      '0x41 c-one: identity and route',
      '0x42 c-two: identity and route',
      'no unexpected devices',
    ]);
    expect(health!.testcase).toHaveLength(6);
    for (const c of time!.testcase) expect(Number(figures(c).boundMax)).toBeLessThan(1000);
    const [, normal, cuts, rollback] = update!.testcase;
    expect(figures(normal!)).toMatchObject({ running: '1.1.0', size: 16384 });
    const c = figures(cuts!);
    expect(c.running).toBe('1.2.0');
    expect(String(c.sha256)).toMatch(/matches$/);
    expect(
      String(c.resumedAt)
        .split(', ')
        .map(Number)
        .every((n) => n > 0),
    ).toBe(true);
    expect(figures(rollback!).detail).toMatch(/runs 1\.2\.0, not 9\.0\.0/);
  }, 180_000);
});
