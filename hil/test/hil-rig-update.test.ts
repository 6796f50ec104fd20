import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertAvailable, commandAvailable, shouldSkip } from '../../test/support/requirements.js';
import { assertBuilt, figures, problems, readJUnit, runHil, SIM_RIG } from './support/run-hil.js';

const socat = commandAvailable('socat', 'apt-get install socat; .ci/run installs it');

/**
 * The update and soak suites end to end: the node behind the gateway is updated normally, then
 * through two power cuts (the rig kills the board's simulator process, whose flash lives in a file,
 * and starts it again), then to an image that crashes on boot; then the rig soaks for 3 s.
 */
describe.skipIf(shouldSkip(socat))('mcubus-hil against simulator processes: update, soak', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('updates through power cuts with matching hashes, rolls back a crashing image, soaks', async () => {
    assertAvailable(socat);
    assertBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'hil-e2e-'));
    dirs.push(dir);
    const out = join(dir, 'out');
    const args = ['run', 'update,soak', '--config', SIM_RIG, '--out', out, '--work-dir', join(dir, 'work')];
    const r = await runHil([...args, '--seed', '5', '--duration', '3']);
    const junit = readJUnit(join(out, 'junit.xml'));
    const [update, soak] = junit.testsuites.testsuite;
    expect(problems(update!) + problems(soak!)).toBe('');
    expect(r.code).toBe(0);

    const [images, normal, cuts, rollback] = update!.testcase;
    expect(figures(images!).versions).toBe('1.1.0, 1.2.0, crashing 9.0.0');
    expect(normal!.name).toBe('0x21 node: update to 1.1.0');
    const n = figures(normal!);
    expect(n).toMatchObject({ size: 16384, running: '1.1.0' });
    expect(n.sha256).toMatch(/^[0-9a-f]{16}… matches$/);
    expect(n.rate).toBeGreaterThan(5000);

    expect(cuts!.name).toBe('0x21 node: update to 1.2.0 through 2 power cut(s)');
    const c = figures(cuts!);
    // Seed 5 cuts at these points of the transfer; each time the transfer went on from what the
    // device's flash held, not from zero.
    expect(c.cuts).toMatch(/^transfer \d+%, transfer \d+%$/);
    const resumed = String(c.resumedAt).split(', ').map(Number);
    expect(resumed).toHaveLength(2);
    for (const at of resumed) expect(at).toBeGreaterThan(0);
    expect(c).toMatchObject({ running: '1.2.0', restartedByRig: 0 });
    expect(c.sha256).toMatch(/matches$/);

    expect(rollback!.name).toBe('0x21 node: crashing 9.0.0 rolled back');
    expect(figures(rollback!)).toMatchObject({ running: '1.2.0' });
    expect(figures(rollback!).detail).toMatch(/runs 1\.2\.0, not 9\.0\.0/);

    expect(soak!.testcase.map((x) => x.name)).toEqual([
      'soak: no device lost or reset',
      'soak: pings answered',
      'soak: clocks synced',
    ]);
    const s = figures(soak!.testcase[0]!);
    expect(s.duration).toBeGreaterThanOrEqual(3);
    expect(s.rx_frames).toBeGreaterThan(10);
    expect(figures(soak!.testcase[1]!)).toMatchObject({ lost: 0 });
    expect(figures(soak!.testcase[1]!).pings).toBeGreaterThanOrEqual(9);

    const summary = readFileSync(join(out, 'summary.txt'), 'utf8');
    expect(summary).toContain('  PASS  0x21 node: crashing 9.0.0 rolled back');
    expect(summary.trimEnd().split('\n').at(-1)).toBe('7 passed, 0 failed, 0 skipped');
  }, 150_000);
});
