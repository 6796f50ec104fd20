import type { DeviceView } from '@mcubus/host';
import type { CaseResult } from '../report/model.js';
import type { DeviceSpec } from '../rig/types.js';
import { check, runCase } from './case.js';
import { hex, type Suite, type SuiteContext } from './context.js';

/** How long every expected device has to show up with its identity and route. */
const DISCOVERY_TIMEOUT_MS = 30_000;

/** What is wrong with a device as the daemon knows it, against the rig file; empty when it matches. */
export function identityProblems(want: DeviceSpec, got: DeviceView | undefined): string[] {
  if (got === undefined) return ['not discovered'];
  const problems: string[] = [];
  if (got.hardwareId !== want.hardwareId)
    problems.push(`hardware id ${got.hardwareId ?? 'unknown'}, expected ${want.hardwareId}`);
  if (got.bus !== want.bus) problems.push(`on bus ${got.bus}, expected ${want.bus}`);
  if (got.via !== want.via) {
    const route = (v: number | null) => (v === null ? 'direct' : `via ${hex(v)}`);
    problems.push(`route ${route(got.via)}, expected ${route(want.via)}`);
  }
  return problems;
}

/**
 * Every expected device is found with the right identity (hardware id) and route (bus, gateway). The
 * daemon learns routes as frames come, so a mismatch is waited out until the deadline; then each
 * device is judged on what the daemon last knew.
 */
export const discoverySuite: Suite = {
  name: 'discovery',
  about: 'every expected device found, with its hardware id, bus and route',
  async run(ctx: SuiteContext): Promise<CaseResult[]> {
    const start = Date.now();
    const matchedAt = new Map<number, number>();
    let devices: DeviceView[] = [];
    while (Date.now() - start < DISCOVERY_TIMEOUT_MS) {
      devices = await ctx.client.devices();
      for (const want of ctx.rig.devices) {
        const got = devices.find((d) => d.address === want.address);
        if (!matchedAt.has(want.address) && identityProblems(want, got).length === 0) {
          matchedAt.set(want.address, Date.now() - start);
        }
      }
      if (matchedAt.size === ctx.rig.devices.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const { startedAtMs } = await ctx.client.status();
    const cases: CaseResult[] = [];
    for (const want of ctx.rig.devices) {
      cases.push(
        await runCase(ctx.client, `${hex(want.address)} ${want.name}: identity and route`, async (c) => {
          const got = devices.find((d) => d.address === want.address);
          // From the daemon's start (the rig waits for discovery before any suite runs).
          if (got) c.figure('firstSeenAfterStart', (got.firstSeenMs - startedAtMs) / 1000, 's');
          const at = matchedAt.get(want.address);
          if (at !== undefined) c.figure('matchedInSuiteAfter', at / 1000, 's');
          if (got?.firmwareVersion) c.figure('firmware', got.firmwareVersion);
          if (got) c.figure('mode', got.mode);
          if (got) c.figure('hops', got.hops);
          const problems = identityProblems(want, got);
          check(problems.length === 0, `${hex(want.address)} ${want.name}: ${problems.join('; ')}`);
        }),
      );
    }
    cases.push(
      await runCase(ctx.client, 'no unexpected devices', async (c) => {
        const extra = devices.filter((d) => !ctx.rig.devices.some((w) => w.address === d.address));
        c.figure('devices', devices.length);
        check(
          extra.length === 0,
          `not in the rig file: ${extra.map((d) => `${hex(d.address)} (${d.hardwareId ?? '?'} on ${d.bus})`).join(', ')}`,
        );
      }),
    );
    return cases;
  },
};
