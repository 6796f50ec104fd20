import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signForSimulator } from '../../test/support/daemon-process.js';
import { CAMPAIGN_RETRIES, type CampaignHost, CampaignRunner } from '../src/update/campaigns.js';
import type { UpdateView } from '../src/update/manager.js';
import { registryPerTest } from './registry-helpers.js';

/**
 * A campaign item whose update failed for a reason of the path (the soak: a gateway rebooting in the
 * middle of its nodes' updates failed half the items) is tried again, a few times, after asking the
 * device what it runs; a refusal or a rollback is final.
 */
const t = registryPerTest();

const view = (phase: UpdateView['phase'], reason?: string): UpdateView =>
  ({ phase, detail: `${phase} detail`, ...(reason ? { reason } : {}) }) as unknown as UpdateView;

/** A host whose updates end as `outcomes` says, one per attempt; timers run when `fire` is called. */
function fakeHost(outcomes: UpdateView[]) {
  const calls: string[] = [];
  const timers: { ms: number; fn: () => void }[] = [];
  const entries: { kind: string; message: string }[] = [];
  const host: CampaignHost = {
    registry: t.reg,
    nowMs: () => 1000,
    route: () => ({ bus: 'b', via: null, hops: 0 }),
    running: () => ({ version: '1.0.0', confirmed: true }),
    identify: async (d) => {
      calls.push(`identify ${d}`);
    },
    confirm: async () => true,
    update: async (d) => {
      calls.push(`update ${d}`);
      return outcomes.shift() ?? view('done');
    },
    cancelUpdate: () => false,
    journal: (kind, _s, message) => entries.push({ kind, message }),
    after: (ms, fn) => timers.push({ ms, fn }),
  };
  const settle = () => new Promise((r) => setTimeout(r, 5));
  const fire = async () => {
    const t = timers.shift();
    if (!t) throw new Error('no timer');
    t.fn();
    await settle();
    return t.ms;
  };
  return { host, calls, entries, fire, settle };
}

async function campaign(h: ReturnType<typeof fakeHost>) {
  const image = join(t.dir, 'node.bin');
  await signForSimulator(t.dir, image, Buffer.alloc(1024, 4), 'mcubus-ref-node', '2.0.0');
  const runner = new CampaignRunner(h.host);
  const { id } = runner.start(
    { items: [{ device: 0x21, imagePath: image, manifestPath: `${image}.manifest` }] } as never,
    false,
  );
  await h.settle();
  return { id: id!, runner, item: () => t.reg.campaigns.get(id!)!.items[0]! };
}

describe('campaign retries', () => {
  it('tries an item again after a timeout and after a stall, asking the device first, until it is done', async () => {
    const h = fakeHost([view('failed', 'timeout'), view('failed', 'stalled')]);
    const c = await campaign(h);
    expect(c.item()).toMatchObject({ state: 'running' });
    expect(c.item().detail).toMatch(/^attempt 1 failed \(timeout: failed detail\); attempt 2 of 4 in 10 s$/);
    expect(await h.fire()).toBe(10_000);
    expect(await h.fire()).toBe(20_000);
    expect(h.calls).toEqual(['update 33', 'identify 33', 'update 33', 'identify 33', 'update 33']);
    expect(c.item()).toMatchObject({ state: 'done' });
    expect(h.entries.filter((e) => e.kind === 'campaign.retry').map((e) => e.message)).toEqual([
      'campaign 1: 0x21 failed (timeout: failed detail); trying again in 10 s (attempt 2 of 4)',
      'campaign 1: 0x21 failed (stalled: failed detail); trying again in 20 s (attempt 3 of 4)',
    ]);
    expect(t.reg.campaigns.get(c.id)!.state).toBe('finished');
  });

  it(`gives up after ${CAMPAIGN_RETRIES} retries`, async () => {
    const h = fakeHost(Array.from({ length: 5 }, () => view('failed', 'boot')));
    const c = await campaign(h);
    for (let i = 0; i < CAMPAIGN_RETRIES; i++) await h.fire();
    expect(h.calls.filter((x) => x.startsWith('update'))).toHaveLength(CAMPAIGN_RETRIES + 1);
    expect(c.item()).toMatchObject({ state: 'failed', detail: 'failed detail' });
    await expect(h.fire()).rejects.toThrow('no timer');
  });

  it("does not retry the device's refusal or a rollback", async () => {
    for (const v of [
      view('failed', 'device:signature_invalid'),
      view('rolled_back'),
      view('failed', 'trial'),
    ]) {
      const h = fakeHost([v]);
      const c = await campaign(h);
      expect(c.item().state).toBe(v.phase);
      expect(h.calls).toEqual(['update 33']);
      expect(h.entries.some((e) => e.kind === 'campaign.retry')).toBe(false);
    }
  });

  it('a campaign cancelled while an item waits for its retry cancels the item', async () => {
    const h = fakeHost([view('failed', 'timeout')]);
    const c = await campaign(h);
    expect(c.runner.cancel(c.id)).toBe(true);
    await h.fire();
    expect(c.item()).toMatchObject({ state: 'cancelled' });
    expect(h.calls).toEqual(['update 33']);
  });
});
