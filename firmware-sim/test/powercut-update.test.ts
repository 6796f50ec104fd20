import { ed25519KeyPairFromSeed, type Message, SlotFlag } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import {
  buildSignedImage,
  EMPTY_BOOT_STATE,
  encodeBootRecord,
  provisionSlot,
  RECORD_BYTES,
} from '../src/boot/index.js';
import { makeLayout, regionOffset, type SlotIndex, slotLoadAddress } from '../src/flash/index.js';
import { ms, Sim, seconds } from '../src/kernel/index.js';
import type { BootOutcome } from '../src/mcu/storage.js';
import { FlashStorage } from '../src/update/index.js';

/**
 * The power-safety proof by exhaustion: run an update once to count its flash operations N, then for
 * every k in 1..N cut the power halfway through operation k (leaving it torn), power on, and require
 * (1) that the device boots a valid signed image (old or new), and (2) that a host repeating the update
 * from wherever the device is completes it.
 */

const vendor = ed25519KeyPairFromSeed(new Uint8Array(32).fill(1));
const HW = 'board-x';
const device = { hardwareId: HW, trustedKeys: [vendor.publicKey] };
const layout = makeLayout({ sectorCount: 64, firstStageSectors: 2, bootloaderSectors: 6 });
const CHUNK = 1024;
const WINDOW = 4;
const v = (...x: number[]) => x;

const appImage = (slot: SlotIndex, version: number[], sc: number, size: number) =>
  buildSignedImage(
    {
      hardwareId: HW,
      kind: 0,
      version,
      securityCounter: sc,
      size,
      loadAddress: slotLoadAddress(layout, layout.apps[slot]),
    },
    vendor.privateKey,
  );
const blImage = (version: number[], sc: number, size: number) =>
  buildSignedImage({ hardwareId: HW, kind: 1, version, securityCounter: sc, size }, vendor.privateKey);

const OLD_APP = appImage(0, v(1, 0, 0), 1, 30_000);
const PREVIOUS_APP = appImage(1, v(0, 9, 0), 1, 12_000);
const NEW_APP = appImage(1, v(2, 0, 0), 2, 20_000); // 20 chunks, the last one 544 bytes
const OLD_BL = blImage(v(1, 0, 0), 1, 9_000);
const PREVIOUS_BL = blImage(v(0, 5, 0), 1, 7_000);
const NEW_BL = blImage(v(2, 0, 0), 2, 9_500);

interface Board {
  readonly sim: Sim;
  readonly s: FlashStorage;
  off: boolean;
  outcome: BootOutcome;
  readonly events: Message[];
}

/**
 * BL-A 1.0.0 (BL-B holds 0.5.0), app A 1.0.0 confirmed, app B an older 0.9.0; the active boot-state
 * sector is nearly full, so the update also moves the boot state to the other sector (a compaction:
 * erase, then the first record there).
 */
function makeBoard(seed: number): Board {
  const sim = new Sim(seed);
  const s = new FlashStorage(sim, {
    name: 'mcu',
    device,
    layout,
    receiver: { maxChunk: CHUNK, window: WINDOW },
  });
  provisionSlot(s.flash, layout, 1, 0, OLD_BL);
  provisionSlot(s.flash, layout, 1, 1, PREVIOUS_BL);
  provisionSlot(s.flash, layout, 0, 0, OLD_APP);
  provisionSlot(s.flash, layout, 0, 1, PREVIOUS_APP);
  // A used boot-state area: the second sector full of older records, the first with 2 places left.
  const base = regionOffset(layout, layout.bootState);
  const perSector = layout.sectorSize / RECORD_BYTES;
  const record = (seq: number) =>
    encodeBootRecord({ ...EMPTY_BOOT_STATE, seq, confirmed: 0, minSecurityCounter: 1 });
  for (let i = 0; i < perSector; i++)
    s.flash.factoryProgram(base + layout.sectorSize + i * RECORD_BYTES, record(1 + i));
  for (let i = 0; i < perSector - 2; i++)
    s.flash.factoryProgram(base + i * RECORD_BYTES, record(1 + perSector + i));
  const board: Board = { sim, s, off: false, outcome: s.powerOn(), events: [] };
  sim.runFor(board.outcome.bootNs + 1);
  return board;
}

function powerOn(b: Board): void {
  b.s.powerLost();
  b.off = false;
  b.outcome = b.s.powerOn();
  b.sim.runFor(b.outcome.bootNs + 1);
}

/** Sends a request; runs until it is answered or the power is cut. null = no answer (power cut). */
function request(b: Board, m: Message): Message | null {
  const got: Message[] = [];
  b.s.handleUpdate(
    m,
    (r) => got.push(r),
    (e) => b.events.push(e),
  );
  b.sim.scheduler.runUntilCondition(() => got.length > 0 || b.off, b.sim.now + seconds(10));
  if (b.off) return null;
  if (!got[0]) throw new Error(`no answer to ${m.type}`);
  return got[0];
}

const sameVersion = (a: readonly number[], c: readonly number[]) => a.join('.') === c.join('.');

/**
 * What a host does: look at what runs (HELLO), confirm a test boot of the target, or (re)send the image
 * from the resume point the device reports, verify, activate, reset. Returns 'cut' if the power went.
 */
function host(
  b: Board,
  img: ReturnType<typeof buildSignedImage>,
  session: number,
): { result: 'done' | 'cut'; resumedFrom: number[] } {
  const kind = img.manifest.kind;
  const target = img.manifest.version;
  const resumedFrom: number[] = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    if (b.off) return { result: 'cut', resumedFrom };
    const o = b.outcome;
    if (kind === 1 && sameVersion(o.bootloaderVersion, target)) return { result: 'done', resumedFrom };
    if (kind === 0 && o.mode === 'app' && sameVersion(o.firmwareVersion, target)) {
      const running = o.slots.find((x) => x.flags & SlotFlag.active && x.index < 2);
      if (running && running.flags & SlotFlag.confirmed && !o.testBoot)
        return { result: 'done', resumedFrom };
      const ok = request(b, { type: 'update_confirm', body: {} });
      if (!ok) return { result: 'cut', resumedFrom };
      expect(ok.type).toBe('ok');
      return { result: 'done', resumedFrom };
    }
    const id = session + attempt;
    const st = request(b, {
      type: 'update_begin',
      body: {
        session: id,
        kind,
        size: img.image.length,
        sha256: img.manifest.sha256,
        chunkSize: CHUNK,
        manifest: img.envelope,
      },
    });
    if (!st) return { result: 'cut', resumedFrom };
    if (st.type !== 'update_status' || st.body.received === undefined)
      throw new Error(`BEGIN: ${JSON.stringify(st.body)}`);
    resumedFrom.push(st.body.received);
    let cumulative = st.body.received;
    let next = cumulative;
    while (cumulative < img.image.length) {
      while (next < img.image.length && next < cumulative + WINDOW * CHUNK) {
        b.s.handleUpdate(
          {
            type: 'update_chunk',
            body: { session: id, offset: next, data: img.image.subarray(next, next + CHUNK) },
          },
          (r) => {
            throw new Error(`chunk answered ${JSON.stringify(r.body)}`);
          },
          (e) => b.events.push(e),
        );
        next += CHUNK;
      }
      const seen = b.events.length;
      b.sim.scheduler.runUntilCondition(() => b.events.length > seen || b.off, b.sim.now + seconds(1));
      if (b.off) return { result: 'cut', resumedFrom };
      for (const e of b.events.slice(seen))
        if (e.type === 'update_ack') cumulative = Math.max(cumulative, e.body.cumulative);
    }
    const verified = request(b, { type: 'update_verify', body: { session: id } });
    if (!verified) return { result: 'cut', resumedFrom };
    expect(verified.type === 'update_status' && verified.body.state).toBe(3);
    const activated = request(b, { type: 'update_activate', body: { session: id } });
    if (!activated) return { result: 'cut', resumedFrom };
    expect(activated.type).toBe('ok');
    b.sim.runFor(ms(20)); // the device resets shortly after its OK
    if (b.off) return { result: 'cut', resumedFrom };
    powerOn(b);
    if (b.off) return { result: 'cut', resumedFrom };
  }
  throw new Error('update did not complete in 4 attempts');
}

interface SweepReport {
  n: number;
  bricked: number;
  bootedOld: number;
  bootedNew: number;
  resumedMidway: number;
}

function sweep(kind: 0 | 1): SweepReport {
  const img = kind === 0 ? NEW_APP : NEW_BL;
  const baseline = makeBoard(1);
  const start = baseline.s.flash.opsStarted;
  expect(host(baseline, img, 100).result).toBe('done');
  const n = baseline.s.flash.opsStarted - start;
  const report: SweepReport = { n, bricked: 0, bootedOld: 0, bootedNew: 0, resumedMidway: 0 };
  for (let k = 1; k <= n; k++) {
    const b = makeBoard(1000 + k);
    b.s.cutPowerAtOp(b.s.flash.opsStarted + k, () => {
      b.off = true;
    });
    expect(host(b, img, 100).result, `cut at op ${k}`).toBe('cut');
    expect(b.s.flash.stats.torn, `op ${k} torn`).toBe(1);
    powerOn(b);
    const boot = b.s.lastBoot!;
    // (1) A valid, signed bootloader and application start: old or new, never anything else.
    const blOk =
      boot.firstStage.ok &&
      [OLD_BL, NEW_BL].some((x) =>
        sameVersion(boot.firstStage.ok ? boot.firstStage.manifest.version : [], x.manifest.version),
      );
    const d = boot.decision;
    const appOk =
      d?.mode === 'app' &&
      [OLD_APP, NEW_APP].some((x) => sameVersion(d.manifest.version, x.manifest.version));
    if (!blOk || !appOk) {
      report.bricked++;
      continue;
    }
    const running = kind === 0 ? b.outcome.firmwareVersion : b.outcome.bootloaderVersion;
    if (sameVersion(running, img.manifest.version)) report.bootedNew++;
    else report.bootedOld++;
    // (2) The update completes from there.
    const resumed = host(b, img, 200);
    expect(resumed.result, `resume after cut at op ${k}`).toBe('done');
    if (resumed.resumedFrom.some((x) => x > 0)) report.resumedMidway++;
    powerOn(b);
    if (kind === 0) {
      expect(b.outcome, `after cut at op ${k}`).toMatchObject({
        mode: 'app',
        firmwareVersion: [2, 0, 0],
        testBoot: false,
      });
      expect(b.s.store.state).toMatchObject({ confirmed: 1, pending: null, minSecurityCounter: 2 });
    } else {
      expect(b.outcome, `after cut at op ${k}`).toMatchObject({
        bootloaderVersion: [2, 0, 0],
        firmwareVersion: [1, 0, 0],
      });
    }
  }
  return report;
}

// The baselines run at collection time so that N appears in the test names.
const N_APP = (() => {
  const b = makeBoard(1);
  const start = b.s.flash.opsStarted;
  host(b, NEW_APP, 100);
  return b.s.flash.opsStarted - start;
})();
const N_BL = (() => {
  const b = makeBoard(1);
  const start = b.s.flash.opsStarted;
  host(b, NEW_BL, 100);
  return b.s.flash.opsStarted - start;
})();

describe('power cut at every flash operation', () => {
  it(`application update (begin → ${NEW_APP.image.length} B → verify → activate → test boot → confirm): N = ${N_APP} operations, 0 bricked`, () => {
    const r = sweep(0);
    console.log(
      `[powercut] application update: N=${r.n} cuts, bricked=${r.bricked}, booted old=${r.bootedOld}, new=${r.bootedNew}, resumed mid-image=${r.resumedMidway}`,
    );
    expect(r.n).toBe(N_APP);
    expect(r.bricked).toBe(0);
    expect(r.bootedOld + r.bootedNew).toBe(r.n);
    // Cuts after ACTIVATE boot the new image (test boot or, after CONFIRM's record, confirmed).
    expect(r.bootedNew).toBeGreaterThan(0);
    expect(r.resumedMidway).toBeGreaterThan(0);
  });

  it(`bootloader update (begin → ${NEW_BL.image.length} B → verify → commit → reset): N = ${N_BL} operations, 0 bricked`, () => {
    const r = sweep(1);
    console.log(
      `[powercut] bootloader update: N=${r.n} cuts, bricked=${r.bricked}, booted old=${r.bootedOld}, new=${r.bootedNew}, resumed mid-image=${r.resumedMidway}`,
    );
    expect(r.n).toBe(N_BL);
    expect(r.bricked).toBe(0);
    // The commit mark is the last operation: torn, it is not a mark, so every cut leaves the old one running.
    expect(r.bootedNew).toBe(0);
    expect(r.resumedMidway).toBeGreaterThan(0);
  });
});

describe('two power cuts in a row', () => {
  it('a second cut during the resumed update is survived too (every 4th first cut × every 3rd second cut)', () => {
    let runs = 0;
    let bricked = 0;
    for (let k = 1; k <= N_APP; k += 4) {
      // How many operations does the resume after a cut at k take?
      const probe = makeBoard(2000 + k);
      probe.s.cutPowerAtOp(probe.s.flash.opsStarted + k, () => {
        probe.off = true;
      });
      host(probe, NEW_APP, 100);
      powerOn(probe);
      const resumeStart = probe.s.flash.opsStarted;
      expect(host(probe, NEW_APP, 200).result).toBe('done');
      const m = probe.s.flash.opsStarted - resumeStart;
      for (let j = 1; j <= m; j += 3) {
        const b = makeBoard(3000 + k * 100 + j);
        b.s.cutPowerAtOp(b.s.flash.opsStarted + k, () => {
          b.off = true;
        });
        host(b, NEW_APP, 100);
        powerOn(b);
        b.s.cutPowerAtOp(b.s.flash.opsStarted + j, () => {
          b.off = true;
        });
        expect(host(b, NEW_APP, 200).result, `second cut at op ${j} after first at ${k}`).toBe('cut');
        powerOn(b);
        const d = b.s.lastBoot!.decision;
        if (!(b.s.lastBoot!.firstStage.ok && d?.mode === 'app')) bricked++;
        expect(host(b, NEW_APP, 300).result).toBe('done');
        powerOn(b);
        expect(b.outcome).toMatchObject({ firmwareVersion: [2, 0, 0], testBoot: false });
        runs++;
      }
    }
    console.log(`[powercut] two cuts: ${runs} runs, bricked=${bricked}`);
    expect(runs).toBeGreaterThan(50);
    expect(bricked).toBe(0);
  });

  it('is deterministic: the same cut with the same seed gives the same trace', () => {
    const run = () => {
      const b = makeBoard(77);
      b.s.cutPowerAtOp(b.s.flash.opsStarted + 17, () => {
        b.off = true;
      });
      host(b, NEW_APP, 100);
      powerOn(b);
      host(b, NEW_APP, 200);
      return b.sim.trace.digest();
    };
    expect(run()).toBe(run());
  });
});
