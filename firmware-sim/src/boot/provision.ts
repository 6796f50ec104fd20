import type { Flash } from '../flash/flash.js';
import {
  type FlashLayout,
  regionOffset,
  regionSize,
  type SlotIndex,
  slotImageOffset,
  slotRegion,
} from '../flash/layout.js';
import { COMMIT_AREA_BYTES, COMMIT_MARK, encodeSlotHeader } from './image-header.js';
import { type BootStatePatch, EMPTY_BOOT_STATE, encodeBootRecord } from './state-record.js';

export interface SignedImage {
  /** Signed manifest envelope (protocol signManifest). */
  readonly envelope: Uint8Array;
  readonly image: Uint8Array;
}

/**
 * Factory programming of one slot (what the production programmer writes over SWD): the region is
 * erased, then header and image are written directly, without simulated time or operation numbers.
 * Bootloader slots are committed unless `commit: false`.
 */
export function provisionSlot(
  flash: Flash,
  layout: FlashLayout,
  kind: 0 | 1,
  slot: SlotIndex,
  signed: SignedImage,
  opts: { commit?: boolean } = {},
): void {
  const region = slotRegion(layout, kind, slot);
  const base = regionOffset(layout, region);
  flash.factoryErase(base, regionSize(layout, region));
  flash.factoryProgram(base, encodeSlotHeader(signed.envelope, flash.config.writeUnit));
  flash.factoryProgram(slotImageOffset(layout, region), signed.image);
  if (kind === 1 && (opts.commit ?? true)) {
    flash.factoryProgram(base + layout.sectorSize - COMMIT_AREA_BYTES, COMMIT_MARK);
  }
}

/** Factory boot state: erases the boot-state area and writes one record (e.g. `{ confirmed: 0 }`). */
export function provisionBootState(flash: Flash, layout: FlashLayout, patch: BootStatePatch): void {
  const base = regionOffset(layout, layout.bootState);
  flash.factoryErase(base, regionSize(layout, layout.bootState));
  flash.factoryProgram(base, encodeBootRecord({ ...EMPTY_BOOT_STATE, ...patch, seq: 1 }));
}
