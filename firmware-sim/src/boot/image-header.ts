import type { FlashReader } from '../flash/flash.js';
import { type FlashLayout, type FlashRegion, regionOffset } from '../flash/layout.js';

/**
 * The header sector at the start of every image slot:
 *
 *   0   4  magic "MBIH"
 *   4   2  envelope length N (u16 little endian)
 *   6   2  header format, 1 (u16 little endian)
 *   8   N  signed manifest envelope (protocol image module), then 0xFF up to the write unit
 *   …      erased
 *   S-64 64 commit area: 8 double words; a slot is committed when any of them reads "MBCOMMIT"
 *
 * The header is written only after the image bytes have been checked (UPDATE_VERIFY), so a slot whose
 * transfer was interrupted has no header and is plainly empty. Bootloader slots also need a commit mark
 * (written by UPDATE_ACTIVATE) before the first stage will start them; eight places for it mean a mark
 * torn by a power cut is simply followed by another.
 */
export const HEADER_MAGIC = Uint8Array.from([0x4d, 0x42, 0x49, 0x48]);
export const HEADER_FORMAT = 1;
export const HEADER_PREFIX_BYTES = 8;
export const COMMIT_AREA_BYTES = 64;
export const COMMIT_MARK = Uint8Array.from([0x4d, 0x42, 0x43, 0x4f, 0x4d, 0x4d, 0x49, 0x54]); // "MBCOMMIT"

/** Largest envelope a header sector of this size holds. */
export function headerCapacity(sectorSize: number): number {
  return Math.min(0xffff, sectorSize - COMMIT_AREA_BYTES - HEADER_PREFIX_BYTES);
}

export function encodeSlotHeader(envelope: Uint8Array, writeUnit: number): Uint8Array {
  const raw = HEADER_PREFIX_BYTES + envelope.length;
  const out = new Uint8Array(Math.ceil(raw / writeUnit) * writeUnit).fill(0xff);
  out.set(HEADER_MAGIC, 0);
  out[4] = envelope.length & 0xff;
  out[5] = envelope.length >>> 8;
  out[6] = HEADER_FORMAT & 0xff;
  out[7] = HEADER_FORMAT >>> 8;
  out.set(envelope, HEADER_PREFIX_BYTES);
  return out;
}

export type HeaderRead =
  | { readonly status: 'empty' }
  | { readonly status: 'bad_header'; readonly detail: string }
  | { readonly status: 'ok'; readonly envelope: Uint8Array };

export function readSlotHeader(flash: FlashReader, layout: FlashLayout, region: FlashRegion): HeaderRead {
  const at = regionOffset(layout, region);
  if (flash.isErased(at, HEADER_PREFIX_BYTES)) return { status: 'empty' };
  const prefix = flash.read(at, HEADER_PREFIX_BYTES);
  for (let i = 0; i < 4; i++) {
    if (prefix[i] !== HEADER_MAGIC[i]) return { status: 'bad_header', detail: 'bad magic' };
  }
  const length = prefix[4]! | (prefix[5]! << 8);
  const format = prefix[6]! | (prefix[7]! << 8);
  if (format !== HEADER_FORMAT) return { status: 'bad_header', detail: `header format ${format}` };
  if (length === 0 || length > headerCapacity(layout.sectorSize)) {
    return { status: 'bad_header', detail: `envelope length ${length}` };
  }
  return { status: 'ok', envelope: flash.read(at + HEADER_PREFIX_BYTES, length) };
}

/**
 * Does the header sector hold exactly this header, with everything else (but the commit area) erased?
 * Then VERIFY need not rewrite it; otherwise the sector must be erased before the header is written.
 */
export function headerSectorHolds(
  flash: FlashReader,
  layout: FlashLayout,
  region: FlashRegion,
  header: Uint8Array,
): boolean {
  const at = regionOffset(layout, region);
  const stored = flash.read(at, header.length);
  for (let i = 0; i < header.length; i++) if (stored[i] !== header[i]) return false;
  const restEnd = layout.sectorSize - COMMIT_AREA_BYTES;
  return flash.isErased(at + header.length, restEnd - header.length);
}

export interface CommitState {
  readonly committed: boolean;
  /** Flash offset of the next erased mark place, or null when all eight are used or garbled. */
  readonly freeMark: number | null;
}

export function commitState(flash: FlashReader, layout: FlashLayout, region: FlashRegion): CommitState {
  const area = regionOffset(layout, region) + layout.sectorSize - COMMIT_AREA_BYTES;
  const unit = COMMIT_MARK.length;
  let committed = false;
  let freeMark: number | null = null;
  for (let off = area; off < area + COMMIT_AREA_BYTES; off += unit) {
    const word = flash.read(off, unit);
    if (word.every((b, i) => b === COMMIT_MARK[i])) committed = true;
    else if (freeMark === null && flash.isErased(off, unit)) freeMark = off;
  }
  return { committed, freeMark };
}
