import { describe, expect, it } from 'vitest';
import type { SoakBoardName } from './boards.js';
import { formatReport } from './report.js';
import { runSoak } from './runner.js';

/**
 * The CI share of the simulation soak (docs/reliability.md): a few fixed seeds of 6 simulated minutes
 * each (every fault kind at least once, one campaign), about 40 s of wall time in all. Longer runs:
 * `npm run soak -- --seeds N --hours H`.
 */
const RUNS: { seed: number; board: SoakBoardName }[] = [
  { seed: 1, board: 'reference' },
  { seed: 2, board: 'reference' },
  { seed: 1, board: 'large' },
];
const HOURS = 0.1;

describe('simulation soak', () => {
  for (const { seed, board } of RUNS) {
    it(`seed ${seed} on the ${board} board: every fault kind injected, no invariant violated`, async () => {
      const r = await runSoak({ seed, hours: HOURS, board });
      // The report (with the replay command) is the failure message.
      expect(r.violations, formatReport(r)).toEqual([]);
      for (const kind of ['crash', 'hang', 'power_cycle', 'gateway_reboot', 'daemon_restart', 'campaign'])
        expect(r.faults[kind], kind).toBeGreaterThan(0);
      expect(r.checks.not_bricked).toBe(board === 'reference' ? 4 : 12);
      expect(r.checks.journal).toBeGreaterThanOrEqual(2);
      expect(r.updatesDone).toBeGreaterThan(0);
      expect(r.time.samples).toBeGreaterThan(40);
    }, 180_000);
  }
});
