import { compareVersions, type Manifest } from '@mcubus/protocol';
import type { FlashReader } from '../flash/flash.js';
import { type FlashLayout, SLOT_INDICES, type SlotIndex } from '../flash/layout.js';
import type { SimTime } from '../kernel/scheduler.js';
import type { BootTiming, DeviceConstants } from './device.js';
import { commitState } from './image-header.js';
import { inspectSlot, type SlotCheck } from './slot-check.js';

export interface BootloaderSlotCheck extends SlotCheck {
  /** The commit mark is present (UPDATE_ACTIVATE of a bootloader image wrote it). */
  readonly committed: boolean;
}

export type FirstStageResult =
  | {
      readonly ok: true;
      readonly slot: SlotIndex;
      readonly manifest: Manifest;
      readonly checkNs: SimTime;
      readonly checks: readonly [BootloaderSlotCheck, BootloaderSlotCheck];
    }
  | {
      readonly ok: false;
      readonly checkNs: SimTime;
      readonly checks: readonly [BootloaderSlotCheck, BootloaderSlotCheck];
    };

/**
 * The immutable first stage (a ROM loader on a real part: never updated, so it can never be broken by
 * an update). It has no state of its own and no writes: it starts the committed, valid (signature and
 * hash) bootloader slot with the highest version; a tie goes to BL-A. A bootloader update writes the
 * other slot, verifies it and commits it last, so at every instant at least one slot qualifies.
 */
export function selectBootloader(
  flash: FlashReader,
  layout: FlashLayout,
  device: DeviceConstants,
  timing: BootTiming,
): FirstStageResult {
  let checkNs = 0;
  const checks = SLOT_INDICES.map((slot): BootloaderSlotCheck => {
    // The mark is cheap to read; an uncommitted slot is not worth a signature check.
    const committed = commitState(flash, layout, layout.bootloaders[slot]).committed;
    if (!committed)
      return { status: 'empty', manifest: null, checkNs: 0, committed, detail: 'not committed' };
    const c = inspectSlot(flash, layout, 1, slot, device, timing, 0);
    checkNs += c.checkNs;
    return { ...c, committed };
  }) as unknown as readonly [BootloaderSlotCheck, BootloaderSlotCheck];
  let best: { slot: SlotIndex; manifest: Manifest } | null = null;
  for (const slot of SLOT_INDICES) {
    const c = checks[slot];
    if (c.status !== 'valid' || !c.manifest) continue;
    if (best === null || compareVersions(c.manifest.version, best.manifest.version) > 0) {
      best = { slot, manifest: c.manifest };
    }
  }
  if (!best) return { ok: false, checkNs, checks };
  return { ok: true, slot: best.slot, manifest: best.manifest, checkNs, checks };
}
