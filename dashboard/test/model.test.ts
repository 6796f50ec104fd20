import { describe, expect, it } from 'vitest';
import { Histories, TELEMETRY_GAP_S } from '../src/history.js';
import { healthLanes, rowSeverity, Series, updateFraction } from '../src/model.js';
import type { EventView } from '../src/types.js';

const change = (id: number, atMs: number, device: number, from: string, to: string): EventView => ({
  id,
  atMs,
  kind: 'health.state',
  severity: 'warning',
  message: `${from} → ${to}`,
  device,
  data: { from, to },
});

describe('rowSeverity', () => {
  it('is red for down, unreachable, zombie and any crash loop; amber for suspect', () => {
    expect(rowSeverity({ state: 'up', crashLoop: false })).toBe('ok');
    expect(rowSeverity({ state: 'up', crashLoop: true })).toBe('bad');
    expect(rowSeverity({ state: 'down', crashLoop: false })).toBe('bad');
    expect(rowSeverity({ state: 'unreachable', crashLoop: false })).toBe('bad');
    expect(rowSeverity({ state: 'zombie', crashLoop: false })).toBe('bad');
    expect(rowSeverity({ state: 'suspect', crashLoop: false })).toBe('warn');
    expect(rowSeverity({ state: 'updating', crashLoop: false })).toBe('warn');
    expect(rowSeverity(undefined)).toBe('unknown');
  });
});

describe('healthLanes', () => {
  it('cuts a lane at each state change and keeps resets as marks', () => {
    const events: EventView[] = [
      change(1, 1_000, 0x21, 'unknown', 'up'),
      {
        id: 2,
        atMs: 5_000,
        kind: 'health.reset',
        severity: 'warning',
        message: 'reset (fault)',
        device: 0x21,
      },
      change(3, 6_000, 0x21, 'up', 'suspect'),
      change(4, 7_000, 0x21, 'suspect', 'down'),
      { id: 5, atMs: 6_500, kind: 'device.log', severity: 'info', message: 'x', device: 0x21 },
    ];
    const [lane] = healthLanes(
      events,
      [{ address: 0x21, state: 'down', crashLoop: false, via: 16 }],
      0,
      10_000,
    );
    expect(lane!.device).toBe(0x21);
    expect(lane!.segments).toEqual([
      { state: 'unknown', fromMs: 0, toMs: 1_000 },
      { state: 'up', fromMs: 1_000, toMs: 6_000 },
      { state: 'suspect', fromMs: 6_000, toMs: 7_000 },
      { state: 'down', fromMs: 7_000, toMs: 10_000 },
    ]);
    expect(lane!.marks).toEqual([{ atMs: 5_000, kind: 'reset', message: 'reset (fault)' }]);
  });

  it('starts a window that opens after a change in the state that change left', () => {
    const lanes = healthLanes(
      [change(1, 1_000, 0x30, 'unknown', 'up'), change(2, 8_000, 0x30, 'up', 'zombie')],
      [{ address: 0x10, state: 'up', crashLoop: false, via: null }],
      5_000,
      9_000,
    );
    expect(lanes.map((l) => l.device)).toEqual([0x10, 0x30]);
    expect(lanes[0]!.segments).toEqual([{ state: 'up', fromMs: 5_000, toMs: 9_000 }]);
    expect(lanes[1]!.segments).toEqual([
      { state: 'up', fromMs: 5_000, toMs: 8_000 },
      { state: 'zombie', fromMs: 8_000, toMs: 9_000 },
    ]);
  });
});

describe('Series and Histories', () => {
  it('keeps the newest points in order and drops late ones', () => {
    const s = new Series(3);
    for (const [x, y] of [
      [1, 10],
      [2, 20],
      [1.5, 99],
      [3, 30],
      [4, 40],
    ] as const)
      s.push(x, y);
    expect(s.x).toEqual([2, 3, 4]);
    expect(s.y).toEqual([20, 30, 40]);
    expect(() => new Series(0)).toThrow(RangeError);
  });

  it('plots clock offsets relative to the first and telemetry by aligned time', () => {
    const h = new Histories();
    h.addTime([{ address: 0x21, synced: true, method: 'gateway', offsetUs: 5_000_000, boundUs: 40 }], 1_000);
    h.addTime([{ address: 0x21, synced: true, method: 'gateway', offsetUs: 5_000_080, boundUs: 35 }], 2_000);
    const [clock] = h.clocks();
    expect(clock!.offsetDelta.x).toEqual([1, 2]);
    expect(clock!.offsetDelta.y).toEqual([0, 80]);
    expect(clock!.bound.y).toEqual([40, 35]);

    // Newest first, as the first read answers; one sample not aligned yet.
    h.addTelemetry([
      { id: 7, device: 0x22, channel: 1, value: 3.5, receivedMs: 0, alignedUs: 2_500_000 },
      { id: 6, device: 0x22, channel: 1, value: 3.0, receivedMs: 0, alignedUs: 1_500_000 },
      { id: 5, device: 0x22, channel: 1, value: 9.9, receivedMs: 0 },
    ]);
    expect(h.lastTelemetryId).toBe(7);
    const [t] = h.telemetry();
    expect(t!.series.x).toEqual([1.5, 2.5]);
    expect(t!.series.y).toEqual([3.0, 3.5]);
    // A pause (the device rebooting) becomes a gap instead of a line across it.
    h.addTelemetry([{ id: 8, device: 0x22, channel: 1, value: 4, receivedMs: 0, alignedUs: 6_000_000 }]);
    expect(t!.series.x).toEqual([1.5, 2.5, 2.5 + TELEMETRY_GAP_S / 2, 6]);
    expect(t!.series.y).toEqual([3.0, 3.5, null, 4]);
  });
});

describe('updateFraction', () => {
  it('is the acknowledged share, and whole once done', () => {
    expect(updateFraction({ size: 4096, acked: 1024, phase: 'transfer' })).toBe(0.25);
    expect(updateFraction({ size: 4096, acked: 1024, phase: 'done' })).toBe(1);
    expect(updateFraction({ size: 0, acked: 0, phase: 'probe' })).toBe(0);
  });
});
