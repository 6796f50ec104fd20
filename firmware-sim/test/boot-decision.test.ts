import { ed25519KeyPairFromSeed, SlotFlag } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import {
  type BootState,
  buildSignedImage,
  DEFAULT_BOOT_TIMING,
  decideBoot,
  EMPTY_BOOT_STATE,
  provisionBootState,
  provisionSlot,
  selectBootloader,
} from '../src/boot/index.js';
import { makeLayout, type SlotIndex, slotImageOffset, slotLoadAddress } from '../src/flash/index.js';
import { ms, Sim } from '../src/kernel/index.js';
import { FlashStorage } from '../src/update/index.js';

const vendor = ed25519KeyPairFromSeed(new Uint8Array(32).fill(1));
const stranger = ed25519KeyPairFromSeed(new Uint8Array(32).fill(9));
const HW = 'board-x';
const device = { hardwareId: HW, trustedKeys: [vendor.publicKey] };
const layout = makeLayout({ sectorCount: 64, firstStageSectors: 2, bootloaderSectors: 6 });
const timing = DEFAULT_BOOT_TIMING;

function app(
  slot: SlotIndex,
  version: number[],
  opts: { sc?: number; size?: number; hw?: string; key?: 'stranger' } = {},
) {
  return buildSignedImage(
    {
      hardwareId: opts.hw ?? HW,
      kind: 0,
      version,
      securityCounter: opts.sc ?? 0,
      size: opts.size ?? 10_000,
      loadAddress: slotLoadAddress(layout, layout.apps[slot]),
    },
    opts.key === 'stranger' ? stranger.privateKey : vendor.privateKey,
  );
}

function bl(version: number[], size = 6000) {
  return buildSignedImage({ hardwareId: HW, kind: 1, version, size, securityCounter: 1 }, vendor.privateKey);
}

/** A board with BL-A 1.0.0, app A 1.0.0 confirmed, plus whatever `extra` adds. */
function board(extra: (s: FlashStorage) => void = () => {}, state: Partial<BootState> = { confirmed: 0 }) {
  const sim = new Sim(1);
  const s = new FlashStorage(sim, { name: 'mcu', device, layout });
  provisionSlot(s.flash, layout, 1, 0, bl([1, 0, 0]));
  provisionSlot(s.flash, layout, 0, 0, app(0, [1, 0, 0]));
  provisionBootState(s.flash, layout, state);
  extra(s);
  return { sim, s };
}

function corrupt(s: FlashStorage, slot: SlotIndex, at = 100) {
  const off = slotImageOffset(layout, layout.apps[slot]) + at;
  s.flash.factoryProgram(off, Uint8Array.of(s.flash.read(off, 1)[0]! ^ 0x40));
}

/** Boot, let the boot-state write finish, and return what was decided. */
function boot(sim: Sim, s: FlashStorage, opts = {}) {
  s.powerLost();
  const outcome = s.powerOn(opts);
  sim.runFor(outcome.bootNs === Number.POSITIVE_INFINITY ? ms(1) : outcome.bootNs + 1);
  return { outcome, decision: s.lastBoot!.decision };
}

describe('bootloader decision', () => {
  it('boots the confirmed slot, and the boot takes startup + both signature checks + both hashes', () => {
    const { sim, s } = board();
    const { outcome, decision } = boot(sim, s);
    expect(decision).toMatchObject({ mode: 'app', slot: 0, testBoot: false, why: 'confirmed', patch: null });
    expect(outcome).toMatchObject({ mode: 'app', firmwareVersion: [1, 0, 0], bootloaderVersion: [1, 0, 0] });
    const hashNs = (6000 + 10_000) * timing.hashNsPerByte;
    expect(outcome.bootNs).toBe(timing.startupNs + 2 * timing.signatureVerifyNs + hashNs);
  });

  it('charges hash time in proportion to the image size', () => {
    const small = boot(...(Object.values(board()) as [Sim, FlashStorage])).outcome.bootNs;
    const { sim, s } = board((b) =>
      provisionSlot(b.flash, layout, 0, 0, app(0, [1, 0, 0], { size: 60_000 })),
    );
    expect(boot(sim, s).outcome.bootNs - small).toBe(50_000 * timing.hashNsPerByte);
  });

  it('test-boots a pending image once, persisting the attempt first, then reverts if it was not confirmed', () => {
    const { sim, s } = board((b) => provisionSlot(b.flash, layout, 0, 1, app(1, [2, 0, 0], { sc: 1 })), {
      confirmed: 0,
      pending: 1,
    });
    const first = boot(sim, s);
    expect(first.decision).toMatchObject({ mode: 'app', slot: 1, testBoot: true, why: 'test' });
    expect(first.outcome.bootNs).toBeGreaterThan(timing.startupNs + 2 * timing.signatureVerifyNs);
    expect(s.store.state).toMatchObject({ confirmed: 0, pending: 1, testAttempted: true });
    const second = boot(sim, s);
    expect(second.decision).toMatchObject({ mode: 'app', slot: 0, testBoot: false, why: 'reverted' });
    expect(second.outcome.firmwareVersion).toEqual([1, 0, 0]);
    expect(s.store.state).toMatchObject({ confirmed: 0, pending: null, testAttempted: false });
    // The tested image is still there and valid; the next update will overwrite it.
    expect(second.outcome.slots[1]).toMatchObject({ index: 1, version: [2, 0, 0], flags: SlotFlag.valid });
    expect(s.bootloader.stats).toMatchObject({ tests: 1, reverts: 1 });
  });

  it('keeps a confirmed test image and raises the anti-rollback floor to its counter', () => {
    const { sim, s } = board((b) => provisionSlot(b.flash, layout, 0, 1, app(1, [2, 0, 0], { sc: 3 })), {
      confirmed: 0,
      pending: 1,
    });
    boot(sim, s);
    let confirmed = false;
    s.bootloader.confirm(1, 3, (r) => {
      confirmed = r.ok;
    });
    sim.runFor(ms(1));
    expect(confirmed).toBe(true);
    const { decision, outcome } = boot(sim, s);
    expect(decision).toMatchObject({ mode: 'app', slot: 1, why: 'confirmed' });
    expect(s.store.state).toMatchObject({ confirmed: 1, pending: null, minSecurityCounter: 3 });
    expect(outcome.slots.map((x) => x.flags)).toEqual([
      0, // slot A (security counter 0) is below the floor now: no longer valid
      SlotFlag.active | SlotFlag.confirmed | SlotFlag.valid,
      SlotFlag.active | SlotFlag.confirmed | SlotFlag.valid,
    ]);
  });

  it('falls back to the other slot when the confirmed image is damaged', () => {
    const { sim, s } = board((b) => {
      provisionSlot(b.flash, layout, 0, 1, app(1, [0, 9, 0]));
      corrupt(b, 0);
    });
    const { decision } = boot(sim, s);
    expect(decision).toMatchObject({ mode: 'app', slot: 1, why: 'fallback' });
    expect(decision?.checks[0]?.status).toBe('bad_hash');
  });

  it('refuses an image below the security floor (anti-rollback), even as a fallback', () => {
    const { sim, s } = board(
      (b) => {
        provisionSlot(b.flash, layout, 0, 1, app(1, [2, 0, 0], { sc: 5 }));
        corrupt(b, 1);
      },
      { confirmed: 1, minSecurityCounter: 5 },
    );
    const { decision, outcome } = boot(sim, s);
    expect(decision).toMatchObject({ mode: 'bootloader', reason: 'no_valid_image' });
    expect(decision?.checks.map((c) => c?.status)).toEqual(['rollback', 'bad_hash']);
    expect(outcome).toMatchObject({
      mode: 'bootloader',
      firmwareVersion: [0, 0, 0],
      bootloaderVersion: [1, 0, 0],
    });
  });

  it('drops a pending slot whose image is not valid', () => {
    const { sim, s } = board(() => {}, { confirmed: 0, pending: 1 });
    const { decision } = boot(sim, s);
    expect(decision).toMatchObject({ mode: 'app', slot: 0, why: 'confirmed', patch: { pending: null } });
    expect(s.store.state.pending).toBe(null);
  });

  it('stays in the bootloader when asked, without spending the test boot', () => {
    const { sim, s } = board((b) => provisionSlot(b.flash, layout, 0, 1, app(1, [2, 0, 0])), {
      confirmed: 0,
      pending: 1,
    });
    const { decision } = boot(sim, s, { stayInBootloader: true });
    expect(decision).toMatchObject({ mode: 'bootloader', reason: 'requested' });
    expect(s.store.state).toMatchObject({ pending: 1, testAttempted: false });
  });

  it('with nothing confirmed (no boot state at all) starts the newest valid image', () => {
    const { sim, s } = board((b) => {
      provisionSlot(b.flash, layout, 0, 1, app(1, [1, 1, 0]));
      b.flash.factoryErase(layout.bootState.firstSector * layout.sectorSize, 2 * layout.sectorSize);
    });
    expect(boot(sim, s).decision).toMatchObject({ mode: 'app', slot: 1, why: 'unconfirmed' });
  });

  it('names why a slot is refused: wrong hardware, unknown signer, linked for the other slot, empty', () => {
    const cases: [ReturnType<typeof app>, string][] = [
      [app(1, [2, 0, 0], { hw: 'board-y' }), 'wrong_hardware'],
      [app(1, [2, 0, 0], { key: 'stranger' }), 'bad_signature'],
      [app(0, [2, 0, 0]), 'wrong_address'],
      [bl([2, 0, 0]), 'wrong_kind'],
    ];
    for (const [img, status] of cases) {
      const { s } = board((b) => provisionSlot(b.flash, layout, 0, 1, img));
      expect(s.bootloader.inspectApp(1).status).toBe(status);
    }
    const { s } = board();
    expect(s.bootloader.inspectApp(1)).toEqual({ status: 'empty', manifest: null, checkNs: 0 });
    s.flash.factoryProgram(layout.apps[1].firstSector * layout.sectorSize, Uint8Array.of(1, 2, 3, 4));
    expect(s.bootloader.inspectApp(1).status).toBe('bad_header');
  });

  it('is a pure function of flash and state', () => {
    const { s } = board((b) => provisionSlot(b.flash, layout, 0, 1, app(1, [2, 0, 0])));
    const input = {
      flash: s.flash,
      layout,
      device,
      timing,
      state: { ...EMPTY_BOOT_STATE, confirmed: 0 as const, pending: 1 as const },
    };
    const a = decideBoot(input);
    expect(decideBoot(input)).toEqual(a);
    expect(a).toMatchObject({ mode: 'app', slot: 1, why: 'test', patch: { testAttempted: true } });
  });
});

describe('first stage', () => {
  it('starts the committed valid bootloader with the highest version', () => {
    const { s } = board((b) => provisionSlot(b.flash, layout, 1, 1, bl([1, 2, 0])));
    const fs = selectBootloader(s.flash, layout, device, timing);
    expect(fs.ok && [fs.slot, fs.manifest.version]).toEqual([1, [1, 2, 0]]);
  });

  it('ignores a newer slot that is not committed, or whose image is damaged', () => {
    const uncommitted = board((b) =>
      provisionSlot(b.flash, layout, 1, 1, bl([3, 0, 0]), { commit: false }),
    ).s;
    const fs1 = selectBootloader(uncommitted.flash, layout, device, timing);
    expect(fs1.ok && fs1.slot).toBe(0);
    expect(fs1.checks[1]).toMatchObject({ committed: false, detail: 'not committed' });
    const damaged = board((b) => provisionSlot(b.flash, layout, 1, 1, bl([3, 0, 0]))).s;
    const off = slotImageOffset(layout, layout.bootloaders[1]) + 10;
    damaged.flash.factoryProgram(off, Uint8Array.of(damaged.flash.read(off, 1)[0]! ^ 1));
    const fs2 = selectBootloader(damaged.flash, layout, device, timing);
    expect(fs2.ok && fs2.slot).toBe(0);
    expect(fs2.checks[1].status).toBe('bad_hash');
  });

  it('with no valid bootloader the device is bricked: nothing runs', () => {
    const { sim, s } = board((b) =>
      b.flash.factoryErase(layout.bootloaders[0].firstSector * layout.sectorSize, 4096),
    );
    const { outcome, decision } = boot(sim, s);
    expect(decision).toBe(null);
    expect(outcome.bootNs).toBe(Number.POSITIVE_INFINITY);
    expect(s.bootloader.stats.bricked).toBe(1);
  });
});
