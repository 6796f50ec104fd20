import type { EventView } from '@mcubus/host';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { type RunResult, toJUnitXml, toSummary } from '../src/index.js';
import { identityProblems } from '../src/suites/discovery.js';
import { goneAtMs } from '../src/suites/health.js';
import { downTransitions } from '../src/suites/soak.js';
import { resumePoints } from '../src/suites/update.js';
import { cutPoints } from '../src/update/cut-points.js';
import { bytesFromJson } from '../src/update/device-image.js';
import { nextVersions } from '../src/update/images.js';

const ev = (
  id: number,
  atMs: number,
  kind: string,
  device: number | undefined,
  data?: unknown,
): EventView => ({
  id,
  atMs,
  kind,
  severity: 'info',
  message: `${kind} <&> "quoted"`,
  ...(device !== undefined ? { device } : {}),
  ...(data !== undefined ? { data } : {}),
});

const run: RunResult = {
  rig: 'bench <1>',
  startedAtMs: Date.UTC(2026, 0, 2, 3, 4, 5),
  seed: 42,
  workDir: '/tmp/w',
  suites: [
    {
      name: 'health',
      startedAtMs: Date.UTC(2026, 0, 2, 3, 4, 5),
      timeS: 3.5,
      cases: [
        {
          name: 'power cut: board',
          status: 'passed',
          timeS: 1.25,
          figures: [{ name: '0x10.goneAfter', value: 0.9624, unit: 's' }],
          journal: [],
        },
        {
          name: 'power restore: board',
          status: 'failed',
          timeS: 2,
          message: '0x10 gw is up but the daemon saw no reset',
          figures: [],
          journal: [ev(7, Date.UTC(2026, 0, 2, 3, 4, 6), 'health.state', 0x10, { to: 'up' })],
        },
        {
          name: 'unplug: solo',
          status: 'skipped',
          timeS: 0,
          message: 'no unplug control',
          figures: [],
          journal: [],
        },
        {
          name: 'x\u0001y',
          status: 'error',
          timeS: 0,
          message: 'RigCommandError: relay: exited 1',
          figures: [],
          journal: [],
        },
      ],
    },
  ],
};

describe('JUnit XML', () => {
  it('is well-formed and counts, times and explains every case as CI tools read it', () => {
    const xml = toJUnitXml(run);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
    expect(doc.testsuites).toMatchObject({
      name: 'mcubus-hil bench <1>',
      tests: '4',
      failures: '1',
      errors: '1',
      skipped: '1',
    });
    const suite = doc.testsuites.testsuite;
    expect(suite).toMatchObject({
      name: 'health',
      tests: '4',
      time: '3.500',
      timestamp: '2026-01-02T03:04:05',
    });
    expect(suite.properties.property).toContainEqual({ name: 'seed', value: '42' });
    const [cut, restore, unplug, bad] = suite.testcase;
    expect(cut).toMatchObject({ classname: 'mcubus-hil.health', name: 'power cut: board', time: '1.250' });
    expect(cut['system-out']).toBe('0x10.goneAfter=0.962 s');
    expect(restore.failure.message).toBe('0x10 gw is up but the daemon saw no reset');
    expect(restore.failure['#text']).toContain(
      'journal:\n2026-01-02T03:04:06.000Z  info     0x10    health.state: health.state <&> "quoted"',
    );
    expect(unplug.skipped.message).toBe('no unplug control');
    // A control character (not allowed in XML 1.0) is replaced, not written raw.
    expect(bad.name).toBe('x\ufffdy');
    expect(bad.error.type).toBe('HilError');
  });

  it('has a summary with a line per case, figures, the journal of failures, and the totals', () => {
    const text = toSummary(run);
    expect(text).toContain('  PASS  power cut: board (1.3 s)\n        0x10.goneAfter=0.962 s\n');
    expect(text).toContain(
      '  FAIL  power restore: board (2.0 s)\n        0x10 gw is up but the daemon saw no reset\n',
    );
    expect(text).toContain(
      'journal while "power restore: board" ran:\n  2026-01-02T03:04:06.000Z  info     0x10',
    );
    expect(text.trimEnd().split('\n').at(-1)).toBe('1 passed, 2 failed, 1 skipped');
  });
});

describe('what the suites read from the daemon', () => {
  it('identity problems name each difference from the rig file', () => {
    const want = { name: 'node', address: 0x21, hardwareId: 'hil-node', bus: 'b', via: 0x10 };
    const got = {
      address: 0x21,
      hardwareId: 'other',
      bus: 'c',
      via: null,
      mode: 'app',
      hops: 0,
      firstSeenMs: 0,
      lastSeenMs: 0,
    };
    expect(identityProblems(want, got)).toEqual([
      'hardware id other, expected hil-node',
      'on bus c, expected b',
      'route direct, expected via 0x10',
    ]);
    expect(identityProblems(want, undefined)).toEqual(['not discovered']);
  });

  it('a device is gone at its own down/unreachable event or its bus’s, after the cut only', () => {
    const journal = [
      ev(1, 900, 'health.state', 0x21, { to: 'down' }),
      ev(2, 1500, 'health.state', 0x21, { to: 'suspect' }),
      ev(3, 1900, 'health.bus_down', undefined, { devices: [0x10, 0x21] }),
      ev(4, 2500, 'health.state', 0x21, { to: 'unreachable' }),
    ];
    expect(goneAtMs(journal, 0x21, 1000)).toBe(1900);
    expect(goneAtMs(journal, 0x31, 1000)).toBeUndefined();
    expect(downTransitions(journal).map((e) => e.id)).toEqual([1, 4]);
  });

  it('resume points are where the device said it stood after each interruption', () => {
    const journal = [
      ev(1, 0, 'update.transfer', 0x21, { acked: 0 }),
      ev(2, 0, 'update.transfer', 0x22, { acked: 4096 }),
      ev(3, 0, 'update.transfer', 0x21, { acked: 12288 }),
      ev(4, 0, 'update.transfer', 0x21, { acked: 16384 }),
    ];
    expect(resumePoints(journal, 0x21)).toEqual([12288, 16384]);
    expect(resumePoints([ev(1, 0, 'update.resumed', 0x21, { fromBytes: 8192 })], 0x21)).toEqual([8192]);
  });

  it('cut points are seeded, ascending, inside the transfer and apart', () => {
    const a = cutPoints(7, 3);
    expect(cutPoints(7, 3)).toEqual(a);
    expect(cutPoints(8, 3)).not.toEqual(a);
    expect(a[0]).toBeGreaterThanOrEqual(0.1);
    expect(a[2]).toBeLessThanOrEqual(0.9);
    expect(a[1]! - a[0]!).toBeGreaterThanOrEqual(0.1 - 1e-9);
    expect(a[2]! - a[1]!).toBeGreaterThanOrEqual(0.1 - 1e-9);
    expect(cutPoints(1, 0)).toEqual([]);
    expect(() => cutPoints(1, 10)).toThrow(/at most 9 cuts/);
  });

  it('reads hashes in every JSON shape bytes take, and picks newer versions', () => {
    expect(bytesFromJson([1, 2])).toEqual(Uint8Array.from([1, 2]));
    expect(bytesFromJson({ 0: 1, 1: 2 })).toEqual(Uint8Array.from([1, 2]));
    expect(bytesFromJson({ type: 'Buffer', data: [3] })).toEqual(Uint8Array.from([3]));
    expect(bytesFromJson('0a0b')).toEqual(Uint8Array.from([10, 11]));
    expect(bytesFromJson({ a: 'x' })).toBeNull();
    expect(nextVersions('1.4.2')).toEqual(['1.5.0', '1.6.0']);
    expect(nextVersions(undefined)).toEqual(['1.1.0', '1.2.0']);
  });
});
