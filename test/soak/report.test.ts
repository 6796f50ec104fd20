import { describe, expect, it } from 'vitest';
import { formatReport, formatSummary, replayCommand, type SoakReport, summarize } from './report.js';

const run = (seed: number, over: Partial<SoakReport> = {}): SoakReport => ({
  seed,
  board: 'reference',
  hours: 0.1,
  faults: { crash: 1, hang: 2 },
  checks: { not_bricked: 4, update_hash: 3, journal: 2, health: 5, time_bound: 1 },
  time: { samples: 100, contained: 100 },
  updatesDone: 3,
  campaignItems: { done: 3, failed: 1 },
  failureReasons: { 'device:flash_error': 1 },
  violations: [],
  ...over,
});

describe('soak report', () => {
  it('names the command that replays a run', () => {
    expect(replayCommand(42, 0.5, 'large')).toBe('npm run soak -- --seed 42 --hours 0.5 --board large');
  });

  it('prints a failing run with its seed, the violation and the replay command', () => {
    const r = run(7, { violations: [{ invariant: 'health', atMs: 159_120, detail: 'node-b is up' }] });
    expect(formatReport(r).split('\n')).toEqual([
      'seed 7 reference 0.1 h: faults crash 1, hang 2; updates done 3; campaign items done 3, failed 1; ' +
        'update failures by reason device:flash_error 1; time bound 100/100; violations 1',
      '  VIOLATION health at 159.1 s: node-b is up',
      '  replay: npm run soak -- --seed 7 --hours 0.1 --board reference',
    ]);
  });

  it('sums runs: hours, faults and checks by kind, violations tagged with their seed', () => {
    const s = summarize([
      run(1),
      run(2),
      run(3, { violations: [{ invariant: 'journal', atMs: 1, detail: 'x' }] }),
    ]);
    expect(s.hours).toBe(0.3);
    expect(s.faults).toEqual({ crash: 3, hang: 6 });
    expect(s.checks.health).toBe(15);
    expect(s.time).toEqual({ samples: 300, contained: 300 });
    expect(s.violations).toEqual([
      { invariant: 'journal', atMs: 1, detail: 'x', seed: 3, board: 'reference' },
    ]);
    expect(formatSummary(s).split('\n')[0]).toBe('3 runs, 0.3 simulated hours');
  });
});
