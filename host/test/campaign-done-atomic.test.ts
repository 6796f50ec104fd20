import { describe, expect, it } from 'vitest';
import { type CampaignHost, CampaignRunner } from '../src/update/campaigns.js';
import { registryPerTest } from './registry-helpers.js';

/**
 * Regression (issue 11, crash-safety run, seed 12): mcubusd SIGKILLed right after the last device's
 * confirmation. The campaign was marked finished, but the daemon died before journaling campaign.done:
 * no restart resumed it (it was finished) and the journal never said so. The state and its entry are
 * now written in one transaction; here the journal write fails where the kill struck.
 */
const t = registryPerTest();

function host(failDone: boolean): CampaignHost {
  return {
    registry: t.reg,
    nowMs: () => 1000,
    route: () => ({ bus: 'b', via: null, hops: 0 }),
    running: () => undefined,
    confirm: async () => true,
    update: () => new Promise(() => {}),
    cancelUpdate: () => false,
    journal: (kind, severity, message, extra) => {
      if (failDone && kind === 'campaign.done') throw new Error('killed here');
      t.reg.append({ atMs: 1000, kind, severity, message, ...extra });
    },
    after: () => {},
  };
}

describe('a campaign that finishes', () => {
  it('is marked finished only together with its campaign.done entry', () => {
    const id = t.reg.campaigns.create(1000, {}, [
      { step: 0, device: 0x21, bus: 'b', via: null, hops: 0, imagePath: '/x', manifestPath: '/x.manifest' },
    ] as never);
    // The last item's update ended (done) and the daemon went on to close the campaign.
    t.reg.campaigns.setItem(id, 0x21, 'done', 'running 2.0.0, confirmed');

    expect(() => new CampaignRunner(host(true)).resumeAll()).toThrow('killed here');
    expect(t.reg.campaigns.get(id)!.state).toBe('running');
    expect(t.reg.query({ kind: 'campaign.done' })).toEqual([]);

    // The next daemon resumes it and closes it properly.
    new CampaignRunner(host(false)).resumeAll();
    expect(t.reg.campaigns.get(id)!.state).toBe('finished');
    const done = t.reg.query({ kind: 'campaign.done' });
    expect(done.map((e) => e.message)).toEqual([`campaign ${id} finished: 1 of 1 updated`]);
  });
});
