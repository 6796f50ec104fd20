import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertAvailable, commandAvailable, shouldSkip } from '../../test/support/requirements.js';
import { assertBuilt, figures, problems, readJUnit, runHil, SIM_RIG } from './support/run-hil.js';

const socat = commandAvailable('socat', 'apt-get install socat; .ci/run installs it');

/**
 * The rig end to end, as CI runs it: mcubus-hil starts two simulator processes serving ptys (a board
 * with a gateway and a node behind it, and a single MCU) and the real mcubusd (host/dist), then runs
 * discovery, time and health — the health suite killing and restarting the simulator processes.
 */
describe.skipIf(shouldSkip(socat))('mcubus-hil against simulator processes: discovery, time, health', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('passes every case and reports it in JUnit XML and the summary', async () => {
    assertAvailable(socat);
    assertBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'hil-e2e-'));
    dirs.push(dir);
    const out = join(dir, 'out');
    const r = await runHil([
      'run',
      'discovery,time,health',
      '--config',
      SIM_RIG,
      '--out',
      out,
      '--work-dir',
      join(dir, 'work'),
      '--seed',
      '3',
    ]);
    const junit = readJUnit(join(out, 'junit.xml'));
    const [discovery, time, health] = junit.testsuites.testsuite;
    expect(problems(discovery!) + problems(time!) + problems(health!)).toBe('');
    expect(r.code).toBe(0);
    expect(junit.testsuites).toMatchObject({ tests: '13', failures: '0' });

    expect(discovery!.testcase.map((c) => c.name)).toEqual([
      '0x10 gw: identity and route',
      '0x21 node: identity and route',
      '0x31 solo: identity and route',
      'no unexpected devices',
    ]);
    expect(figures(discovery!.testcase[1]!)).toMatchObject({ hops: 1, mode: 'app', firmware: '1.0.0' });
    expect(figures(discovery!.testcase[1]!).firstSeenAfterStart).toBeLessThan(10);

    // Every clock aligned; the bound per device is what the estimator reports (no reference here).
    for (const c of time!.testcase) {
      const f = figures(c);
      expect(f.boundMax).toBeGreaterThan(0);
      expect(f.boundMax).toBeLessThanOrEqual(1000);
      expect(f.syncedAfter).toBeLessThan(30);
    }
    expect(figures(time!.testcase[1]!).method).toBe('via_gateway');

    expect(health!.testcase.map((c) => c.name)).toEqual([
      'power cut: board (0x10 0x21)',
      'power restore: board (0x10 0x21)',
      'unplug: board (0x10 0x21)',
      'power cut: solo (0x31)',
      'power restore: solo (0x31)',
      'unplug: solo (0x31)',
    ]);
    const cut = figures(health!.testcase[0]!);
    // Heartbeats every 500 ms: gone within 2.5 periods of the cut.
    expect(cut['0x10.bound']).toBe(1.25);
    expect(cut['0x10.goneAfter']).toBeGreaterThan(0.2);
    expect(cut['0x10.goneAfter']).toBeLessThanOrEqual(1.25);
    expect(cut['0x21.goneAfter']).toBeLessThanOrEqual(1.25);
    expect(figures(health!.testcase[1]!)['0x21.resetReason']).toBe('power_on');
    expect(figures(health!.testcase[5]!).lostAfter).toBeLessThan(2);

    const summary = readFileSync(join(out, 'summary.txt'), 'utf8');
    expect(summary).toBe(r.stdout);
    expect(summary).toContain('  PASS  power cut: solo (0x31)');
    expect(summary.trimEnd().split('\n').at(-1)).toBe('13 passed, 0 failed, 0 skipped');
  }, 120_000);
});
