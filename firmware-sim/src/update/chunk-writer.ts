import { err, ok } from '@mcubus/protocol';
import type { FlashDone, FlashError } from '../flash/errors.js';
import type { Flash } from '../flash/flash.js';
import { type FlashLayout, type FlashRegion, regionOffset, slotImageOffset } from '../flash/layout.js';

/**
 * Puts image chunks into a slot, erasing each sector before its first write of the session (the
 * write-once rule). A fresh transfer first erases the slot's header sector, so an interrupted transfer
 * never leaves a header in front of half an image. The flash runs operations in issue order, so an
 * erase issued for one chunk completes before any later chunk's program in that sector.
 */
export class ChunkWriter {
  readonly #erased = new Set<number>();
  #clearHeader: boolean;

  constructor(
    readonly flash: Flash,
    readonly layout: FlashLayout,
    readonly region: FlashRegion,
    fresh: boolean,
  ) {
    this.#clearHeader = fresh;
  }

  /** Writing `length` bytes at `imageOffset` would first erase a sector (it would stall the CPU). */
  needsErase(imageOffset: number, length: number): boolean {
    const at = slotImageOffset(this.layout, this.region) + imageOffset;
    for (let s = this.flash.sectorOf(at); s <= this.flash.sectorOf(at + length - 1); s++) {
      if (!this.#erased.has(s)) return true;
    }
    return false;
  }

  write(imageOffset: number, data: Uint8Array, done: FlashDone): void {
    const { flash, layout, region } = this;
    let failure: FlashError | null = null;
    const noteFailure = (r: { ok: boolean; error?: FlashError }) => {
      if (!r.ok && failure === null && r.error) failure = r.error;
    };
    if (this.#clearHeader) {
      this.#clearHeader = false;
      const header = regionOffset(layout, region);
      if (!flash.isErased(header, layout.sectorSize)) flash.erase(region.firstSector, noteFailure);
    }
    const at = slotImageOffset(layout, region) + imageOffset;
    const first = flash.sectorOf(at);
    const last = flash.sectorOf(at + data.length - 1);
    for (let s = first; s <= last; s++) {
      if (this.#erased.has(s)) continue;
      this.#erased.add(s);
      flash.erase(s, (r) => {
        noteFailure(r);
        // A sector whose erase failed must be erased again by whoever writes it next.
        if (!r.ok) this.#erased.delete(s);
      });
    }
    const unit = flash.config.writeUnit;
    const padded = new Uint8Array(Math.ceil(data.length / unit) * unit).fill(0xff);
    padded.set(data);
    flash.program(at, padded, (r) => {
      if (failure) return done(err(failure));
      done(r.ok ? ok(undefined) : r);
    });
  }
}
