import type { ApiClient, EventView, HealthView } from '@mcubus/host';
import type { PowerGroup } from '../power.js';
import type { CaseResult } from '../report/model.js';
import { until } from '../wait.js';
import { type CaseScope, check, journalMark, journalSince, runCase, Skip } from './case.js';
import { hex, type Suite, type SuiteContext } from './context.js';

/** States in which the daemon holds a device for gone: itself, or its route. */
const GONE = new Set(['down', 'unreachable']);
/** Polling the health view while a state change is expected: finer than the bounds it is checked against. */
const POLL_MS = 50;

async function healthOf(client: ApiClient): Promise<Map<number, HealthView>> {
  return new Map((await client.health()).map((h) => [h.address, h]));
}

function states(group: PowerGroup, h: Map<number, HealthView>): string {
  return group.devices.map((d) => `${hex(d.address)} ${h.get(d.address)?.state ?? 'unknown'}`).join(', ');
}

/** When the journal first says `address` is gone, after `fromMs`: its own health.state or its bus's. */
export function goneAtMs(events: readonly EventView[], address: number, fromMs: number): number | undefined {
  for (const e of events) {
    if (e.atMs < fromMs) continue;
    const data = e.data as { to?: string; devices?: number[] } | undefined;
    if (e.kind === 'health.state' && e.device === address && GONE.has(data?.to ?? '')) return e.atMs;
    if (
      (e.kind === 'health.bus_down' || e.kind === 'health.route_down') &&
      data?.devices?.includes(address)
    ) {
      return e.atMs;
    }
  }
  return undefined;
}

async function allUp(ctx: SuiteContext, group: PowerGroup, ms: number): Promise<Map<number, HealthView>> {
  let last = new Map<number, HealthView>();
  return until(
    async () => {
      last = await healthOf(ctx.client);
      return group.devices.every((d) => last.get(d.address)?.state === 'up') ? last : undefined;
    },
    { ms, what: `every device of ${group.name} up`, intervalMs: POLL_MS, seen: () => states(group, last) },
  );
}

/**
 * Cuts the group's power and checks that the daemon holds each of its devices for down (or, behind a
 * dead gateway or bus, unreachable) within maxDownPeriods of its heartbeat interval. The time is
 * counted from the cut, which is no earlier than the device's last heartbeat: the daemon's own
 * target (≤ 2.5 intervals after the last heartbeat) is checked slightly leniently.
 */
async function powerCut(ctx: SuiteContext, group: PowerGroup, c: CaseScope): Promise<void> {
  const before = await allUp(ctx, group, ctx.rig.health.maxUpS * 1000);
  const mark = await journalMark(ctx.client);
  const cutAt = Date.now();
  await group.off();
  const periods = group.devices.map((d) => before.get(d.address)?.expectedIntervalMs ?? 1000);
  const waitMs = Math.max(...periods) * ctx.rig.health.maxDownPeriods + 5000;
  const seenGone = new Map<number, number>();
  let last = new Map<number, HealthView>();
  await until(
    async () => {
      last = await healthOf(ctx.client);
      for (const d of group.devices) {
        if (!seenGone.has(d.address) && GONE.has(last.get(d.address)?.state ?? ''))
          seenGone.set(d.address, Date.now());
      }
      return seenGone.size === group.devices.length ? true : undefined;
    },
    {
      ms: waitMs,
      what: `every device of ${group.name} down`,
      intervalMs: POLL_MS,
      seen: () => states(group, last),
    },
  );
  const journal = await journalSince(ctx.client, mark);
  const late: string[] = [];
  group.devices.forEach((d, i) => {
    const at = goneAtMs(journal, d.address, cutAt) ?? seenGone.get(d.address)!;
    const periodMs = periods[i]!;
    const afterS = (at - cutAt) / 1000;
    const boundS = (periodMs * ctx.rig.health.maxDownPeriods) / 1000;
    c.figure(`${hex(d.address)}.state`, last.get(d.address)!.state);
    c.figure(`${hex(d.address)}.goneAfter`, afterS, 's');
    c.figure(`${hex(d.address)}.bound`, boundS, 's');
    if (afterS > boundS)
      late.push(`${hex(d.address)} ${d.name} after ${afterS.toFixed(2)} s (bound ${boundS.toFixed(2)} s)`);
  });
  check(late.length === 0, `held for gone too late: ${late.join('; ')}`);
}

/**
 * Restores the power and checks every device of the group is up again, having rebooted: the journal
 * must show its reset (a device's own reset count starts over at power-on, so it cannot tell).
 */
async function powerRestore(ctx: SuiteContext, group: PowerGroup, c: CaseScope): Promise<void> {
  const mark = await journalMark(ctx.client);
  const start = Date.now();
  await group.on();
  await allUp(ctx, group, ctx.rig.health.maxUpS * 1000);
  c.figure('upAfter', (Date.now() - start) / 1000, 's');
  const journal = await journalSince(ctx.client, mark);
  for (const d of group.devices) {
    const reset = journal.find((e) => e.kind === 'health.reset' && e.device === d.address);
    const reason = (reset?.data as { reason?: string } | undefined)?.reason;
    if (reason) c.figure(`${hex(d.address)}.resetReason`, reason);
    check(reset !== undefined, `${hex(d.address)} ${d.name} is up but the daemon saw no reset`);
  }
}

/** Unplugs the host side (a USB adapter, a cable): the bus is reported lost, then comes back with its devices. */
async function unplug(ctx: SuiteContext, group: PowerGroup, c: CaseScope): Promise<void> {
  const u = group.unplug;
  if (!u) throw new Skip(`no unplug control for ${group.name}`);
  await allUp(ctx, group, ctx.rig.health.maxUpS * 1000);
  const buses = [...new Set(group.devices.map((d) => d.bus))];
  const start = Date.now();
  await u.off();
  const busState = async () => new Map((await ctx.client.status()).buses.map((b) => [b.name, b.state]));
  let seen = new Map<string, string>();
  await until(
    async () => {
      seen = await busState();
      return buses.every((b) => seen.get(b) === 'lost') ? true : undefined;
    },
    {
      ms: 10_000,
      what: `${buses.join(', ')} reported lost`,
      intervalMs: POLL_MS,
      seen: () => JSON.stringify([...seen]),
    },
  );
  c.figure('lostAfter', (Date.now() - start) / 1000, 's');
  const back = Date.now();
  await u.on();
  await until(
    async () => {
      seen = await busState();
      return buses.every((b) => seen.get(b) === 'open') ? true : undefined;
    },
    {
      ms: ctx.rig.health.maxUpS * 1000,
      what: `${buses.join(', ')} open again`,
      intervalMs: POLL_MS,
      seen: () => JSON.stringify([...seen]),
    },
  );
  c.figure('openAfter', (Date.now() - back) / 1000, 's');
  await allUp(ctx, group, ctx.rig.health.maxUpS * 1000);
  c.figure('upAfter', (Date.now() - back) / 1000, 's');
}

/**
 * Per power group (a device process, a switched device): power cut → down within its bound; power
 * back → up again, with a reset seen; unplug → bus lost, then open again with its devices up.
 */
export const healthSuite: Suite = {
  name: 'health',
  about: 'power cut: down within its bound; power back: up again; unplug: bus lost and back',
  async run(ctx: SuiteContext): Promise<CaseResult[]> {
    const cases: CaseResult[] = [];
    for (const g of ctx.groups) {
      ctx.log(`health: ${g.name}`);
      const who = `${g.name} (${g.devices.map((d) => hex(d.address)).join(' ')})`;
      const cut = await runCase(ctx.client, `power cut: ${who}`, (c) => powerCut(ctx, g, c));
      cases.push(cut);
      // Whatever the cut showed, power comes back: the next cases need the devices.
      cases.push(await runCase(ctx.client, `power restore: ${who}`, (c) => powerRestore(ctx, g, c)));
      cases.push(await runCase(ctx.client, `unplug: ${who}`, (c) => unplug(ctx, g, c)));
    }
    const unpowered = ctx.rig.devices.filter((d) => !ctx.groups.some((g) => g.devices.includes(d)));
    for (const d of unpowered) {
      cases.push(
        await runCase(ctx.client, `power cut: ${hex(d.address)} ${d.name}`, async () => {
          throw new Skip('no power control in the rig file');
        }),
      );
    }
    return cases;
  },
};
