import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runHil } from './support/run-hil.js';

describe('mcubus-hil command line', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('explains itself with --help', async () => {
    const r = await runHil(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('mcubus-hil run SUITE[,SUITE…]|all --config RIG.yaml');
    for (const s of ['discovery', 'health', 'time', 'update', 'soak'])
      expect(r.stdout).toMatch(new RegExp(`\\n  ${s} +\\S`));
    expect(r.stdout).toContain('--duration S');
  });

  it('refuses bad usage (exit 2) and a bad rig file with every problem at file:line:col (exit 2)', async () => {
    const usage = await runHil(['run', 'helth', '--config', 'x.yaml']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain(
      'unknown suite "helth" (suites: discovery, time, health, update, soak, all)',
    );

    const dir = mkdtempSync(join(tmpdir(), 'hil-cli-'));
    dirs.push(dir);
    const rig = join(dir, 'rig.yaml');
    writeFileSync(
      rig,
      'daemon: { config: {} }\ndevices:\n  - { address: 0x21, bus: can0 }\nsoak: { maxPingLoss: 2 }\n',
    );
    const r = await runHil(['run', 'discovery', '--config', rig, '--out', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${rig}:3:5: devices[0].hardwareId: required key is missing`);
    expect(r.stderr).toContain(`${rig}:4:9: soak.maxPingLoss: must be between 0 and 1, got 2`);
  });
});
