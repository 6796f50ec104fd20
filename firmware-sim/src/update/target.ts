import type { BootState, TransferProgress } from '../boot/state-record.js';
import { otherSlot, SLOT_INDICES, type SlotIndex } from '../flash/layout.js';
import type { RunningImage } from './running.js';

/**
 * The slot an image of `kind` is written to. Never the running one, and for applications never the
 * confirmed one either (it is the revert target): writing there could leave nothing to boot. With
 * nothing confirmed and nothing running (factory state, bootloader mode), the slot the bootloader
 * would start is kept. null: no slot may be written now (a test image runs and the other one is the
 * confirmed fallback: confirm or reset first).
 */
export function chooseTarget(
  kind: 0 | 1,
  state: BootState,
  running: RunningImage,
  bootableApp: () => SlotIndex | null,
): SlotIndex | null {
  if (kind === 1) return otherSlot(running.blSlot);
  const keep = new Set<SlotIndex>();
  if (state.confirmed !== null) keep.add(state.confirmed);
  if (running.appSlot !== null) keep.add(running.appSlot);
  if (keep.size === 0) {
    const b = bootableApp();
    if (b !== null) keep.add(b);
  }
  const free = SLOT_INDICES.filter((s) => !keep.has(s));
  if (free.length === 0) return null;
  if (free.length === 1) return free[0]!;
  // Both free (nothing valid anywhere): continue where a transfer was going on.
  return state.progress?.kind === 0 ? state.progress.slot : 0;
}

export interface TransferKey {
  readonly kind: 0 | 1;
  readonly slot: SlotIndex;
  readonly size: number;
  readonly sha256: Uint8Array;
  readonly chunkSize: number;
}

/**
 * Where a transfer resumes: the persisted progress of the same image in the same slot, rounded down
 * to a multiple of both the chunk size (the host sends whole chunks) and the sector size (sectors from
 * there on are erased again before use, so nothing below the resume point is ever erased).
 */
export function resumePoint(progress: TransferProgress | null, key: TransferKey, sectorSize: number): number {
  if (!progress || !sameImage(progress, key)) return 0;
  if (progress.received >= key.size) return key.size;
  const unit = lcm(key.chunkSize, sectorSize);
  return Math.floor(progress.received / unit) * unit;
}

export function sameImage(p: TransferProgress, key: Omit<TransferKey, 'chunkSize'>): boolean {
  return (
    p.kind === key.kind && p.slot === key.slot && p.size === key.size && bytesEqual(p.sha256, key.sha256)
  );
}

export function lcm(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
