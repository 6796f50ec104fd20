import { ok } from '@mcubus/protocol';
import type { FlashDone } from '../flash/errors.js';
import type { Flash } from '../flash/flash.js';
import { type FlashLayout, type FlashRegion, regionOffset } from '../flash/layout.js';
import { COMMIT_MARK, commitState, encodeSlotHeader, headerSectorHolds } from './image-header.js';

/**
 * Writes a slot's header sector so that it holds exactly this envelope: nothing when it already does,
 * otherwise erase (unless blank) then program. A torn attempt leaves a header that fails its checks,
 * and the next attempt erases it again.
 */
export function writeSlotHeader(
  flash: Flash,
  layout: FlashLayout,
  region: FlashRegion,
  envelope: Uint8Array,
  done: FlashDone,
): void {
  const header = encodeSlotHeader(envelope, flash.config.writeUnit);
  if (headerSectorHolds(flash, layout, region, header)) {
    flash.sim.scheduler.after(0, () => done(ok(undefined)));
    return;
  }
  const at = regionOffset(layout, region);
  const program = () => flash.program(at, header, done);
  if (flash.isErased(at, layout.sectorSize)) {
    program();
    return;
  }
  flash.erase(region.firstSector, (r) => (r.ok ? program() : done(r)));
}

/**
 * Marks a verified bootloader slot as startable: one double word, the last step of a bootloader
 * update. If all eight mark places are used up by torn attempts, the header sector is rewritten first.
 */
export function commitBootloaderSlot(
  flash: Flash,
  layout: FlashLayout,
  region: FlashRegion,
  envelope: Uint8Array,
  done: FlashDone,
): void {
  const state = commitState(flash, layout, region);
  if (state.committed) {
    flash.sim.scheduler.after(0, () => done(ok(undefined)));
    return;
  }
  if (state.freeMark !== null) {
    flash.program(state.freeMark, COMMIT_MARK, done);
    return;
  }
  const at = regionOffset(layout, region);
  flash.erase(region.firstSector, (r) => {
    if (!r.ok) return done(r);
    flash.program(at, encodeSlotHeader(envelope, flash.config.writeUnit), (h) => {
      if (!h.ok) return done(h);
      commitBootloaderSlot(flash, layout, region, envelope, done);
    });
  });
}
