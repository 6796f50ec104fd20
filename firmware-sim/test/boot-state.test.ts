import { crc32c } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import {
  type BootState,
  BootStateStore,
  decodeBootRecord,
  EMPTY_BOOT_STATE,
  encodeBootRecord,
  RECORD_BYTES,
} from '../src/boot/index.js';
import { Flash, makeLayout, regionOffset } from '../src/flash/index.js';
import { ms, Sim } from '../src/kernel/index.js';

const layout = makeLayout({ sectorSize: 1024, sectorCount: 64, firstStageSectors: 2, bootloaderSectors: 4 });
const perSector = 1024 / RECORD_BYTES; // 16

function setup(seed = 1) {
  const sim = new Sim(seed);
  const flash = new Flash(sim, 'mcu', { sectorSize: 1024, sectorCount: 64 });
  const store = new BootStateStore(flash, layout);
  return { sim, flash, store };
}

/** Applies one patch and runs the simulation until the write settles. */
function write(sim: Sim, store: BootStateStore, patch: Partial<BootState>): boolean | undefined {
  let ok: boolean | undefined;
  store.update(
    () => patch,
    (r) => {
      ok = r.ok;
    },
  );
  sim.runFor(ms(50));
  return ok;
}

const sha = Uint8Array.from({ length: 32 }, (_, i) => i * 3);

describe('boot-state record', () => {
  const state: BootState = {
    seq: 258,
    confirmed: 1,
    pending: 0,
    testAttempted: true,
    minSecurityCounter: 7,
    progress: { kind: 0, slot: 0, size: 20000, received: 8192, sha256: sha },
  };

  it('has the documented 64-byte layout', () => {
    const b = encodeBootRecord(state);
    expect(b.length).toBe(64);
    expect(Array.from(b.subarray(0, 20))).toEqual([
      0x4d, 0x42, 0x53, 0x31, 0x02, 0x01, 0, 0, 1, 0, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0,
    ]);
    expect(new DataView(b.buffer).getUint32(20, true)).toBe(20000);
    expect(new DataView(b.buffer).getUint32(24, true)).toBe(8192);
    expect(b.subarray(28, 60)).toEqual(sha);
    expect(new DataView(b.buffer).getUint32(60, true)).toBe(crc32c(b.subarray(0, 60)));
  });

  it('round-trips, with and without a transfer in progress', () => {
    expect(decodeBootRecord(encodeBootRecord(state))).toEqual({ ok: true, state });
    const idle = { ...EMPTY_BOOT_STATE, seq: 1, confirmed: 0 as const };
    expect(decodeBootRecord(encodeBootRecord(idle))).toEqual({ ok: true, state: idle });
  });

  it('rejects blank places, bad magic, any flipped bit (CRC) and impossible slot values', () => {
    expect(decodeBootRecord(new Uint8Array(64).fill(0xff))).toEqual({ ok: false, problem: 'blank' });
    const b = encodeBootRecord(state);
    const magic = b.slice();
    magic[0] = 0;
    expect(decodeBootRecord(magic)).toEqual({ ok: false, problem: 'bad_magic' });
    for (const bit of [32, 100, 300, 479]) {
      const flipped = b.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(decodeBootRecord(flipped)).toEqual({ ok: false, problem: 'bad_crc' });
    }
    const slot = b.slice();
    slot[8] = 2;
    new DataView(slot.buffer).setUint32(60, crc32c(slot.subarray(0, 60)), true);
    expect(decodeBootRecord(slot)).toEqual({ ok: false, problem: 'bad_field' });
  });
});

describe('boot-state store', () => {
  it('appends records one after the other and recovers the newest on load', () => {
    const { sim, flash, store } = setup();
    expect(store.state).toEqual(EMPTY_BOOT_STATE);
    expect(write(sim, store, { confirmed: 0 })).toBe(true);
    expect(write(sim, store, { pending: 1 })).toBe(true);
    expect(write(sim, store, { testAttempted: true })).toBe(true);
    const base = regionOffset(layout, layout.bootState);
    expect(flash.isErased(base + 2 * RECORD_BYTES, RECORD_BYTES)).toBe(false);
    expect(flash.isErased(base + 3 * RECORD_BYTES, RECORD_BYTES)).toBe(true);
    const again = new BootStateStore(flash, layout);
    expect(again.state).toEqual({
      ...EMPTY_BOOT_STATE,
      seq: 3,
      confirmed: 0,
      pending: 1,
      testAttempted: true,
    });
  });

  it('keeps the previous record in force after a torn write, and writes past the garbage', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const { sim, flash, store } = setup(seed);
      write(sim, store, { confirmed: 0, minSecurityCounter: 2 });
      flash.cutPowerAtOp(flash.opsStarted + 1, () => {});
      let called = false;
      store.update(
        () => ({ pending: 1 }),
        () => {
          called = true;
        },
      );
      sim.runFor(ms(10));
      expect(called).toBe(false);
      flash.powerOn();
      const report = store.load();
      expect(report).toEqual({ validRecords: 1, garbage: 1 });
      expect(store.state).toMatchObject({ seq: 1, confirmed: 0, pending: null, minSecurityCounter: 2 });
      expect(write(sim, store, { pending: 1 })).toBe(true);
      const base = regionOffset(layout, layout.bootState);
      expect(decodeBootRecord(flash.read(base + 2 * RECORD_BYTES, RECORD_BYTES))).toMatchObject({
        ok: true,
        state: { seq: 2, pending: 1 },
      });
      expect(new BootStateStore(flash, layout).state).toMatchObject({ seq: 2, confirmed: 0, pending: 1 });
    }
  });

  it('moves to the other sector when one is full, erasing it first', () => {
    const { sim, flash, store } = setup();
    for (let i = 0; i < perSector; i++) write(sim, store, { minSecurityCounter: i + 1 });
    expect(store.stats).toMatchObject({ writes: 16, compactions: 1 }); // the very first write started sector 0
    // Leave old garbage in sector 1 so that the erase is needed.
    const second = regionOffset(layout, layout.bootState) + 1024;
    flash.factoryProgram(second + 512, Uint8Array.of(0));
    const opsBefore = flash.opsStarted;
    expect(write(sim, store, { minSecurityCounter: 99 })).toBe(true);
    expect(flash.opsStarted - opsBefore).toBe(2); // erase + program
    expect(store.stats.compactions).toBe(2);
    expect(flash.isErased(second + 512, 1)).toBe(true);
    expect(new BootStateStore(flash, layout).state).toMatchObject({ seq: 17, minSecurityCounter: 99 });
  });

  it('survives a cut during the compaction erase and during the first record of the new sector', () => {
    for (const cutOp of [1, 2]) {
      for (let seed = 1; seed <= 5; seed++) {
        const { sim, flash, store } = setup(seed);
        for (let i = 0; i < perSector; i++) write(sim, store, { minSecurityCounter: i + 1 });
        // Old contents in sector 1, so the compaction is erase (op 1) + first record (op 2).
        flash.factoryProgram(
          regionOffset(layout, layout.bootState) + 1024,
          encodeBootRecord({ ...EMPTY_BOOT_STATE, seq: 3 }),
        );
        flash.cutPowerAtOp(flash.opsStarted + cutOp, () => {});
        store.update(
          () => ({ minSecurityCounter: 99 }),
          () => {},
        );
        sim.runFor(ms(50));
        flash.powerOn();
        store.load();
        expect(store.state).toMatchObject({ seq: 16, minSecurityCounter: 16 });
        expect(write(sim, store, { minSecurityCounter: 100 })).toBe(true);
        expect(new BootStateStore(flash, layout).state).toMatchObject({ seq: 17, minSecurityCounter: 100 });
      }
    }
  });

  it('skips a write that would change nothing', () => {
    const { sim, flash, store } = setup();
    write(sim, store, { confirmed: 0 });
    const ops = flash.opsStarted;
    expect(write(sim, store, { confirmed: 0 })).toBe(true);
    expect(flash.opsStarted).toBe(ops);
    expect(store.stats.skipped).toBe(1);
  });

  it('applies queued patches in order, each on the state the previous one left', () => {
    const { sim, store } = setup();
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      store.update(
        (s) => ({ minSecurityCounter: s.minSecurityCounter * 2 + 1 }),
        (r) => r.ok && seen.push(r.value.minSecurityCounter),
      );
    }
    sim.runFor(ms(50));
    expect(seen).toEqual([1, 3, 7]);
  });
});
