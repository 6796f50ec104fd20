import type { TimeView } from '@mcubus/host';
import type { CaseResult } from '../report/model.js';
import type { DeviceSpec } from '../rig/types.js';
import { check, runCase } from './case.js';
import { hex, type Suite, type SuiteContext } from './context.js';

/** The bound is sampled this often while it is watched: the estimator itself updates at 4–10 Hz. */
const SAMPLE_MS = 250;

interface ClockWatch {
  syncedAfterMs?: number;
  bounds: number[];
  unsynced: number;
  last?: TimeView;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Every device clock is aligned within the rig's bound. Without a reference (a shared GPIO pulse
 * timestamped by the rig and by the devices — not built yet), the figure is the estimator's own
 * error bound, which the daemon's benchmarks show to hold (coverage 1.000): each device's clock must
 * become synced within settleS, then its bound is sampled for watchS and must stay ≤ maxBoundUs.
 */
export const timeSuite: Suite = {
  name: 'time',
  about: "clock alignment per device: synced in time, and the estimator's error bound (µs)",
  async run(ctx: SuiteContext): Promise<CaseResult[]> {
    const t = ctx.rig.time;
    const watch = new Map<number, ClockWatch>(
      ctx.rig.devices.map((d) => [d.address, { bounds: [], unsynced: 0 }]),
    );
    const start = Date.now();
    let watchFrom: number | undefined;
    // Clocks are watched together: one settle phase until all are synced (or the deadline), then
    // one watch phase; each device is a case of its own.
    for (;;) {
      const now = Date.now();
      const views = new Map((await ctx.client.time()).map((v) => [v.address, v]));
      for (const [address, w] of watch) {
        const v = views.get(address);
        if (v) w.last = v;
        if (v?.synced && w.syncedAfterMs === undefined) w.syncedAfterMs = now - start;
        if (watchFrom !== undefined) {
          // Every bound counts, synced or not: the check is on the bound itself.
          if (v?.boundUs !== undefined) w.bounds.push(v.boundUs);
          if (!v?.synced) w.unsynced++;
        }
      }
      const allSynced = [...watch.values()].every((w) => w.syncedAfterMs !== undefined);
      if (watchFrom === undefined && (allSynced || now - start > t.settleS * 1000)) watchFrom = now;
      if (watchFrom !== undefined && now - watchFrom >= t.watchS * 1000) break;
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
    const cases: CaseResult[] = [];
    for (const d of ctx.rig.devices) cases.push(await judge(ctx, d, watch.get(d.address)!));
    return cases;
  },
};

function judge(ctx: SuiteContext, d: DeviceSpec, w: ClockWatch): Promise<CaseResult> {
  const max = ctx.rig.time.maxBoundUs;
  return runCase(ctx.client, `${hex(d.address)} ${d.name}: clock aligned`, async (c) => {
    if (w.last) {
      c.figure('method', w.last.method);
      if (w.last.skewPpm !== undefined) c.figure('skew', w.last.skewPpm, 'ppm');
    }
    const syncedAfterMs = w.syncedAfterMs;
    check(
      syncedAfterMs !== undefined,
      `not synced within ${ctx.rig.time.settleS} s (last: ${describe(w.last)})`,
    );
    c.figure('syncedAfter', syncedAfterMs / 1000, 's');
    check(w.bounds.length > 0, 'no bound reported while watched');
    const worst = Math.max(...w.bounds);
    c.figure('boundMedian', median(w.bounds), 'µs');
    c.figure('boundMax', worst, 'µs');
    c.figure('samples', w.bounds.length);
    c.figure('unsyncedSamples', w.unsynced);
    check(worst <= max, `bound reached ${worst.toFixed(1)} µs, above ${max} µs`);
  });
}

function describe(v: TimeView | undefined): string {
  if (!v) return 'no clock known';
  const bound = v.boundUs === undefined ? 'no bound yet' : `bound ±${v.boundUs.toFixed(1)} µs`;
  return `${v.method}, ${bound}, ${v.samplesUsed} samples`;
}
