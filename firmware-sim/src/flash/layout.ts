/**
 * Where things live in the flash, as data. Regions are whole sectors, so erasing one never touches
 * another. Every image slot starts with one header sector (the signed manifest and, for bootloader
 * slots, the commit marks: see boot/image-header.ts); the image follows at the next sector, so an image
 * executes in place at `slotLoadAddress` and must be linked for its slot (A/B without swapping).
 */
export type SlotIndex = 0 | 1;

export const SLOT_INDICES: readonly SlotIndex[] = [0, 1];

export function otherSlot(slot: SlotIndex): SlotIndex {
  return slot === 0 ? 1 : 0;
}

export interface FlashRegion {
  readonly name: string;
  readonly firstSector: number;
  readonly sectorCount: number;
}

export interface FlashLayout {
  /** Address at which flash offset 0 is mapped (STM32: 0x0800_0000). */
  readonly baseAddress: number;
  readonly sectorSize: number;
  readonly sectorCount: number;
  /** Immutable first stage (modelled as ROM: never written, its contents are not simulated). */
  readonly firstStage: FlashRegion;
  /** BL-A, BL-B. */
  readonly bootloaders: readonly [FlashRegion, FlashRegion];
  /** Two sectors of append-only boot-state records (boot/state-store.ts). */
  readonly bootState: FlashRegion;
  /** Application slots A, B. */
  readonly apps: readonly [FlashRegion, FlashRegion];
}

export interface LayoutSpec {
  readonly baseAddress?: number;
  readonly sectorSize?: number;
  readonly sectorCount?: number;
  readonly firstStageSectors?: number;
  readonly bootloaderSectors?: number;
}

/**
 * First stage, BL-A, BL-B, boot state, then the rest split evenly into app A and app B. The default is
 * 512 KiB in 4 KiB sectors: 16 KiB first stage, 2 × 32 KiB bootloader slots, 8 KiB boot state,
 * 2 × 212 KiB application slots (208 KiB of image each).
 */
export function makeLayout(spec: LayoutSpec = {}): FlashLayout {
  const sectorSize = spec.sectorSize ?? 4096;
  const sectorCount = spec.sectorCount ?? 128;
  const fs = spec.firstStageSectors ?? 4;
  const bl = spec.bootloaderSectors ?? 8;
  let next = 0;
  const region = (name: string, n: number): FlashRegion => {
    const r = { name, firstSector: next, sectorCount: n };
    next += n;
    return r;
  };
  const firstStage = region('first-stage', fs);
  const bootloaders = [region('bl-a', bl), region('bl-b', bl)] as const;
  const bootState = region('boot-state', 2);
  const appSectors = Math.floor((sectorCount - next) / 2);
  const apps = [region('app-a', appSectors), region('app-b', appSectors)] as const;
  const layout: FlashLayout = {
    baseAddress: spec.baseAddress ?? 0x0800_0000,
    sectorSize,
    sectorCount,
    firstStage,
    bootloaders,
    bootState,
    apps,
  };
  const problems = layoutProblems(layout);
  if (problems.length > 0) throw new RangeError(`bad flash layout: ${problems.join('; ')}`);
  return layout;
}

/** Overlaps, regions past the end, a boot-state area that is not two sectors, slots without image room. */
export function layoutProblems(layout: FlashLayout): string[] {
  const problems: string[] = [];
  const regions = allRegions(layout);
  const owner = new Array<string | undefined>(layout.sectorCount);
  for (const r of regions) {
    if (r.firstSector < 0 || r.firstSector + r.sectorCount > layout.sectorCount) {
      problems.push(`${r.name} ends past sector ${layout.sectorCount}`);
      continue;
    }
    for (let s = r.firstSector; s < r.firstSector + r.sectorCount; s++) {
      if (owner[s] !== undefined) problems.push(`${r.name} overlaps ${owner[s]} at sector ${s}`);
      owner[s] = r.name;
    }
  }
  if (layout.bootState.sectorCount !== 2) problems.push('boot-state must be exactly 2 sectors');
  for (const r of [...layout.bootloaders, ...layout.apps]) {
    if (r.sectorCount < 2) problems.push(`${r.name} needs a header sector and at least one image sector`);
  }
  return problems;
}

export function allRegions(layout: FlashLayout): FlashRegion[] {
  return [layout.firstStage, ...layout.bootloaders, layout.bootState, ...layout.apps];
}

export function regionOffset(layout: FlashLayout, r: FlashRegion): number {
  return r.firstSector * layout.sectorSize;
}

export function regionSize(layout: FlashLayout, r: FlashRegion): number {
  return r.sectorCount * layout.sectorSize;
}

export function regionSectors(r: FlashRegion): number[] {
  return Array.from({ length: r.sectorCount }, (_, i) => r.firstSector + i);
}

/** Flash offset of the image in a slot (after its header sector). */
export function slotImageOffset(layout: FlashLayout, r: FlashRegion): number {
  return (r.firstSector + 1) * layout.sectorSize;
}

/** Largest image a slot holds. */
export function slotCapacity(layout: FlashLayout, r: FlashRegion): number {
  return (r.sectorCount - 1) * layout.sectorSize;
}

/** Address the image of this slot executes at: what its manifest `loadAddress` must say. */
export function slotLoadAddress(layout: FlashLayout, r: FlashRegion): number {
  return layout.baseAddress + slotImageOffset(layout, r);
}

/** The slot region of an image kind (0 application, 1 bootloader). */
export function slotRegion(layout: FlashLayout, kind: 0 | 1, slot: SlotIndex): FlashRegion {
  return kind === 0 ? layout.apps[slot] : layout.bootloaders[slot];
}
