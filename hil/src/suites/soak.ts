import type { BusView, EventView } from '@mcubus/host';
import type { CaseResult } from '../report/model.js';
import { until } from '../wait.js';
import { check, journalMark, journalSince, runCase } from './case.js';
import { hex, type Suite, type SuiteContext } from './context.js';

/** Events that mean a device or bus was lost during the soak, by kind. */
const LOSSES = ['health.bus_down', 'health.route_down', 'health.crash_loop', 'bus.lost'] as const;

/** Bus counters worth reporting when they moved during the soak. */
const TROUBLE = /bad|retr|timeout|lost|crc|drop|repair|overflow|error|noise/;

interface SoakTally {
  samples: number;
  pings: number;
  pingsLost: number;
  rttMaxMs: number;
  rttSumMs: number;
  /** Samples in which a device was not up, by address. */
  notUp: Map<number, number>;
  unsynced: number;
}

function counterSum(buses: readonly BusView[], key: string): number {
  return buses.reduce((t, b) => t + (b.counters[key] ?? 0), 0);
}

export function countKinds(events: readonly EventView[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) m.set(e.kind, (m.get(e.kind) ?? 0) + 1);
  return m;
}

/** Health transitions to down or unreachable in the journal, by device. */
export function downTransitions(events: readonly EventView[]): EventView[] {
  return events.filter((e) => {
    const to = (e.data as { to?: string } | undefined)?.to;
    return e.kind === 'health.state' && (to === 'down' || to === 'unreachable');
  });
}

/**
 * The rig left alone for a long time (hours on a bench; --duration seconds in CI): every sample
 * interval each device is pinged and its health and clock read. At the end the journal must show no
 * device lost and no reset, the pings must be answered (≤ maxPingLoss lost), and every clock synced.
 */
export const soakSuite: Suite = {
  name: 'soak',
  about: 'hours unattended (--duration): no device lost or reset, pings answered, clocks synced; counters',
  async run(ctx: SuiteContext): Promise<CaseResult[]> {
    const durationS = ctx.soakDurationS ?? ctx.rig.soak.durationS;
    const everyMs = Math.min(ctx.rig.soak.sampleEveryS, durationS) * 1000;
    // A soak measures the steady state: a suite before it may have just rebooted a device (an
    // update), whose clock starts a new epoch and takes seconds to sync again. Wait for that first.
    await until(
      async () => {
        const time = await ctx.client.time();
        return ctx.rig.devices.every((d) => time.find((t) => t.address === d.address)?.synced)
          ? true
          : undefined;
      },
      { ms: ctx.rig.time.settleS * 1000, what: 'every clock synced before the soak', intervalMs: 200 },
    ).catch(() => undefined); // not synced by then: the soak's own check reports it
    const mark = await journalMark(ctx.client);
    const first = await ctx.client.status();
    const tally: SoakTally = {
      samples: 0,
      pings: 0,
      pingsLost: 0,
      rttMaxMs: 0,
      rttSumMs: 0,
      notUp: new Map(),
      unsynced: 0,
    };
    const start = Date.now();
    let nextLog = start + 60_000;
    ctx.log(`soak: ${durationS} s`);
    while (Date.now() - start < durationS * 1000) {
      const sampleStart = Date.now();
      tally.samples++;
      const health = new Map((await ctx.client.health()).map((h) => [h.address, h.state]));
      for (const d of ctx.rig.devices) {
        if (health.get(d.address) !== 'up') tally.notUp.set(d.address, (tally.notUp.get(d.address) ?? 0) + 1);
        const p = await ctx.client.ping(d.address);
        tally.pings++;
        if (!p.ok) tally.pingsLost++;
        else if (p.rttMs !== undefined) {
          tally.rttMaxMs = Math.max(tally.rttMaxMs, p.rttMs);
          tally.rttSumMs += p.rttMs;
        }
      }
      const time = await ctx.client.time();
      tally.unsynced += ctx.rig.devices.filter(
        (d) => !time.find((t) => t.address === d.address)?.synced,
      ).length;
      if (Date.now() > nextLog) {
        ctx.log(
          `soak: ${Math.round((Date.now() - start) / 1000)} s, ${tally.pings} pings, ${tally.pingsLost} lost`,
        );
        nextLog += 60_000;
      }
      // Sampling, not pacing: the next sample is due a sample interval after this one began.
      const wait = Math.min(everyMs - (Date.now() - sampleStart), durationS * 1000 - (Date.now() - start));
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const last = await ctx.client.status();
    const journal = await journalSince(ctx.client, mark, 10_000);
    const kinds = countKinds(journal);
    const elapsedS = (Date.now() - start) / 1000;
    const counters = (c: { figure: (n: string, v: number | string, u?: string) => void }) => {
      c.figure('duration', elapsedS, 's');
      c.figure('samples', tally.samples);
      // Frames always; the trouble counters (bad input, retries, timeouts, losses…) when they moved.
      const keys = new Set(last.buses.flatMap((b) => Object.keys(b.counters)));
      for (const key of [...keys].sort()) {
        const delta = counterSum(last.buses, key) - counterSum(first.buses, key);
        const always = key === 'rx_frames' || key === 'tx_frames';
        if (always || (delta !== 0 && TROUBLE.test(key))) c.figure(key, delta);
      }
    };
    return [
      await runCase(ctx.client, 'soak: no device lost or reset', async (c) => {
        counters(c);
        const downs = downTransitions(journal);
        const resets = journal.filter((e) => e.kind === 'health.reset');
        c.figure('downTransitions', downs.length);
        c.figure('resets', resets.length);
        for (const k of LOSSES) c.figure(k, kinds.get(k) ?? 0);
        const notUp = [...tally.notUp].map(([a, n]) => `${hex(a)} in ${n} sample(s)`);
        c.figure('notUp', notUp.join(', ') || 'none');
        check(downs.length === 0, `devices lost: ${downs.map((e) => e.message).join('; ')}`);
        check(resets.length === 0, `devices reset: ${resets.map((e) => e.message).join('; ')}`);
        check(
          LOSSES.every((k) => !kinds.get(k)),
          `losses in the journal: ${LOSSES.filter((k) => kinds.get(k)).join(', ')}`,
        );
      }),
      await runCase(ctx.client, 'soak: pings answered', async (c) => {
        const loss = tally.pings === 0 ? 0 : tally.pingsLost / tally.pings;
        c.figure('pings', tally.pings);
        c.figure('lost', tally.pingsLost);
        c.figure(
          'rttMean',
          tally.pings > tally.pingsLost ? tally.rttSumMs / (tally.pings - tally.pingsLost) : 0,
          'ms',
        );
        c.figure('rttMax', tally.rttMaxMs, 'ms');
        check(tally.pings > 0, 'no ping was sent');
        check(
          loss <= ctx.rig.soak.maxPingLoss,
          `${tally.pingsLost} of ${tally.pings} pings lost (allowed ${ctx.rig.soak.maxPingLoss * 100} %)`,
        );
      }),
      await runCase(ctx.client, 'soak: clocks synced', async (c) => {
        const jumps = kinds.get('time.jump') ?? 0;
        c.figure('unsyncedSamples', tally.unsynced);
        c.figure('time.jump', jumps);
        check(jumps === 0, `${jumps} clock jump(s) journaled`);
        const time = await ctx.client.time();
        const off = ctx.rig.devices.filter((d) => !time.find((t) => t.address === d.address)?.synced);
        check(off.length === 0, `not synced at the end: ${off.map((d) => hex(d.address)).join(', ')}`);
      }),
    ];
  },
};
