import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signForSimulator } from '../../test/support/daemon-process.js';
import { type CampaignHost, CampaignRunner } from '../src/update/campaigns.js';
import { registryPerTest } from './registry-helpers.js';

/**
 * Regression (issue 11, crash-safety run): mcubusd SIGKILLed after ACTIVATE while the gateway booted
 * its new image. The device's HELLO went to no one, so the restarted daemon's registry still named the
 * old version; the resumed campaign began the update again, the device refused it ("a test image runs
 * … confirm or reset first") and was left on an unconfirmed test image, which reverted at its next
 * reset. Now the item that was running is asked what it runs (IDENTIFY) before anything is decided.
 */
const t = registryPerTest();

function fakeHost(calls: string[], device: { version: string; confirmed: boolean }) {
  let identified!: () => void;
  const host: CampaignHost = {
    registry: t.reg,
    nowMs: () => 1000,
    route: () => ({ bus: 'b', via: null, hops: 0 }),
    // Only the gateway (0x10) was being updated; the node runs its old image.
    running: (d) => (d === 0x10 ? { ...device } : { version: '1.0.0', confirmed: true }),
    identify: (d) => {
      calls.push(`identify ${d}`);
      return new Promise<void>((r) => {
        identified = r;
      });
    },
    confirm: async (d) => {
      calls.push(`confirm ${d}`);
      return true;
    },
    update: (d) => {
      calls.push(`update ${d}`);
      return new Promise(() => {});
    },
    cancelUpdate: () => false,
    journal: () => {},
    after: () => {},
  };
  return { host, answer: () => identified() };
}

describe('a campaign resumed after a daemon restart', () => {
  it('asks the running item what it runs, and confirms the test image it booted', async () => {
    const image = join(t.dir, 'gw.bin');
    await signForSimulator(t.dir, image, Buffer.alloc(1024, 3), 'mcubus-ref-gw', '2.0.0');
    const node = join(t.dir, 'node.bin');
    await signForSimulator(t.dir, node, Buffer.alloc(1024, 4), 'mcubus-ref-node', '2.0.0');
    const id = t.reg.campaigns.create(1000, { trialMs: 500 }, [
      {
        step: 0,
        device: 0x10,
        bus: 'b',
        via: null,
        hops: 0,
        imagePath: image,
        manifestPath: `${image}.manifest`,
      },
      {
        step: 1,
        device: 0x21,
        bus: 'b',
        via: null,
        hops: 0,
        imagePath: node,
        manifestPath: `${node}.manifest`,
      },
    ] as never);
    t.reg.campaigns.setItem(id, 0x10, 'running', '');
    // What the registry says before the device answers: the old version.
    const device = { version: '1.0.0', confirmed: true };
    const calls: string[] = [];
    const { host, answer } = fakeHost(calls, device);

    new CampaignRunner(host).resumeAll();
    expect(calls).toEqual(['identify 16']);
    // While it is asked, the item holds its bus: the next item does not start.
    expect(t.reg.campaigns.get(id)!.items.map((i) => [i.device, i.state])).toEqual([
      [0x10, 'running'],
      [0x21, 'pending'],
    ]);

    // Its HELLO: the new image, in test mode.
    device.version = '2.0.0';
    device.confirmed = false;
    answer();
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(['identify 16', 'confirm 16', 'update 33']);
    const items = t.reg.campaigns.get(id)!.items;
    expect(items.find((i) => i.device === 0x10)).toMatchObject({
      state: 'done',
      detail: 'running 2.0.0, confirmed',
    });
    expect(items.find((i) => i.device === 0x21)?.state).toBe('running');
  });
});
