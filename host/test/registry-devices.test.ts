import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from '../src/registry/registry.js';
import { makeHello, tempStateDir } from './registry-helpers.js';

let dir: string;
let cleanup: () => void;
let reg: Registry;

beforeEach(() => {
  ({ dir, cleanup } = tempStateDir());
  reg = Registry.open(dir, { flushIntervalMs: 5000 });
});
afterEach(() => {
  reg.close();
  cleanup();
});

describe('upsertFromHello', () => {
  it('reports a new device and stores every field', () => {
    const r = reg.upsertFromHello(7, makeHello(), { bus: 'uart0', atMs: 1000 });
    expect(r.isNew).toBe(true);
    expect(r.changes).toEqual([]);
    const d = reg.get(7);
    expect(d).toMatchObject({
      address: 7,
      uid: 'deadbeef0102',
      hardwareId: 'mcubus-node-f4',
      hardwareRev: 3,
      firmwareVersion: '1.2.3',
      bootloaderVersion: '0.9.1',
      mode: 1,
      name: 'pump-ctl',
      capabilities: 0x15,
      bus: 'uart0',
      via: null,
      hops: 0,
      firstSeenMs: 1000,
      lastSeenMs: 1000,
    });
    expect(d?.hello.uid).toBe('deadbeef0102');
    expect(d?.hello.slots).toEqual([{ index: 0, version: [1, 2, 3], flags: 11 }]);
  });

  it('reports no change for the same HELLO, and keeps first-seen', () => {
    reg.upsertFromHello(7, makeHello(), { bus: 'uart0', atMs: 1000 });
    const r = reg.upsertFromHello(7, makeHello(), { bus: 'uart0', atMs: 2000 });
    expect(r.isNew).toBe(false);
    expect(r.changes).toEqual([]);
    expect(r.record.firstSeenMs).toBe(1000);
    expect(r.record.lastSeenMs).toBe(2000);
  });

  it('reports version, mode and route changes', () => {
    reg.upsertFromHello(7, makeHello(), { bus: 'uart0', atMs: 1000 });
    const r = reg.upsertFromHello(7, makeHello({ firmwareVersion: [1, 3, 0, 42], mode: 0 }), {
      bus: 'can0',
      via: 2,
      hops: 1,
      atMs: 2000,
    });
    expect(r.changes).toEqual([
      { field: 'firmwareVersion', from: '1.2.3', to: '1.3.0.42' },
      { field: 'mode', from: 1, to: 0 },
      { field: 'route', from: { bus: 'uart0', via: null, hops: 0 }, to: { bus: 'can0', via: 2, hops: 1 } },
    ]);
    expect(reg.get(7)).toMatchObject({ bus: 'can0', via: 2, hops: 1, firmwareVersion: '1.3.0.42' });
  });

  it('reports a different chip answering at the same address', () => {
    reg.upsertFromHello(9, makeHello(), { bus: 'uart0', atMs: 1 });
    const r = reg.upsertFromHello(9, makeHello({ uid: Uint8Array.from([1, 2]) }), { bus: 'uart0', atMs: 2 });
    expect(r.changes).toEqual([{ field: 'uid', from: 'deadbeef0102', to: '0102' }]);
  });

  it('rejects addresses outside 0..254 with a typed error', () => {
    expect(() => reg.upsertFromHello(255, makeHello(), { bus: 'uart0', atMs: 1 })).toThrow(
      expect.objectContaining({ name: 'RegistryError', code: 'invalid-argument' }),
    );
  });

  it('lists devices by address', () => {
    reg.upsertFromHello(30, makeHello(), { bus: 'can0', atMs: 1 });
    reg.upsertFromHello(4, makeHello(), { bus: 'uart0', atMs: 1 });
    expect(reg.list().map((d) => d.address)).toEqual([4, 30]);
    expect(reg.get(5)).toBeUndefined();
  });
});

describe('markSeen coalescing', () => {
  it('keeps heartbeats in memory until the flush interval, then writes them in one batch', () => {
    for (let a = 0; a < 64; a++) reg.upsertFromHello(a, makeHello(), { bus: 'can0', atMs: 0 });
    // 64 devices x 10 Hz for 4.9 s: nothing written yet, but reads already see the times.
    for (let t = 100; t < 5000; t += 100) for (let a = 0; a < 64; a++) reg.markSeen(a, t);
    expect(reg.pendingLastSeen).toBe(64);
    expect(reg.get(10)?.lastSeenMs).toBe(4900);
    reg.markSeen(10, 5100); // 5.1 s after the first markSeen at 100 ms: flush
    expect(reg.pendingLastSeen).toBe(0);
    expect(reg.get(10)?.lastSeenMs).toBe(5100);
    expect(reg.get(11)?.lastSeenMs).toBe(4900);
  });

  it('ignores unknown addresses and never moves last-seen backwards', () => {
    expect(reg.markSeen(50, 10)).toBe(false);
    reg.upsertFromHello(50, makeHello(), { bus: 'uart0', atMs: 1000 });
    expect(reg.markSeen(50, 500)).toBe(true);
    expect(reg.flush()).toBe(1);
    expect(reg.get(50)?.lastSeenMs).toBe(1000);
  });

  it('flushes pending last-seen on close', () => {
    reg.upsertFromHello(3, makeHello(), { bus: 'uart0', atMs: 1000 });
    reg.markSeen(3, 1200);
    reg.markSeen(3, 1300);
    reg.close();
    reg = Registry.open(dir);
    expect(reg.get(3)?.lastSeenMs).toBe(1300);
  });
});
