import { describe, expect, it } from 'vitest';
import { InvariantChecker } from './invariants.js';

describe('soak invariants', () => {
  it('an MCU that ends off, hung or in its bootloader is bricked; one running an application is not', () => {
    const c = new InvariantChecker();
    c.mcuAtEnd(1000, 'a', 'running', 'app');
    c.mcuAtEnd(1000, 'b', 'running', 'bootloader');
    c.mcuAtEnd(1000, 'c', 'off', undefined);
    expect(c.checks.not_bricked).toBe(3);
    expect(c.violations.map((v) => v.detail)).toEqual(['b is running in bootloader mode', 'c is off']);
  });

  it('a finished update must run the image that was sent', () => {
    const c = new InvariantChecker();
    c.updateDone(5, 'n', 'aa', 'aa');
    c.updateDone(6, 'n', 'aa', 'bb');
    c.updateDone(7, 'm', 'aa', undefined);
    expect(c.violations).toEqual([
      { invariant: 'update_hash', atMs: 6, detail: 'n: runs bb, expected aa' },
      { invariant: 'update_hash', atMs: 7, detail: 'm: runs no image, expected aa' },
    ]);
  });

  it('journal: a gap in the stored ids or an announced id missing from SQLite is a violation', () => {
    const c = new InvariantChecker();
    c.journal(1, [1, 2, 3], [1, 2, 3, 4]);
    expect(c.violations).toEqual([]);
    c.journal(2, [5, 6], [1, 2, 3, 5, 6]);
    c.journal(3, [7, 8, 9], [1, 2, 3, 4, 5, 6, 7]);
    expect(c.violations.map((v) => v.detail)).toEqual([
      'ids jump from 3 to 5',
      '2 announced entries not in SQLite (first 8)',
    ]);
    expect(c.checks.journal).toBe(3);
  });

  it('health: the state must be one the truth allows; a device missing from the daemon fails', () => {
    const c = new InvariantChecker();
    c.health(1, 'gw', 'up', ['up']);
    c.health(2, 'n', 'suspect', ['down', 'unreachable']);
    c.health(3, 'm', undefined, ['up']);
    expect(c.violations.map((v) => v.detail)).toEqual([
      'n is suspect, expected down|unreachable',
      'm is unknown to the daemon, expected up',
    ]);
  });

  it('time: the bound must hold for at least 99 % of the samples', () => {
    const ok = new InvariantChecker();
    for (let i = 0; i < 100; i++) ok.timeSample(i === 0 ? 12 : 3, 10);
    ok.finish(9);
    expect(ok.timeShare).toEqual({ samples: 100, contained: 99 });
    expect(ok.violations).toEqual([]);
    const bad = new InvariantChecker();
    for (let i = 0; i < 100; i++) bad.timeSample(i < 2 ? 12 : 3, 10);
    bad.finish(9);
    expect(bad.violations).toEqual([
      { invariant: 'time_bound', atMs: 9, detail: 'bound held for 98/100 samples (98.00 %)' },
    ]);
  });
});
