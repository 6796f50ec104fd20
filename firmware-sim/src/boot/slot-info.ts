import { type Manifest, SlotFlag } from '@mcubus/protocol';
import type { FlashReader } from '../flash/flash.js';
import { type FlashLayout, SLOT_INDICES, type SlotIndex } from '../flash/layout.js';
import type { BootTiming, DeviceConstants } from './device.js';
import { inspectSlot } from './slot-check.js';
import type { BootState } from './state-record.js';

/** A HELLO `slots` entry (docs/protocol.md, nested map "slot"). */
export interface SlotInfo {
  index: number;
  version: number[];
  flags: number;
  size?: number;
  sha256?: Uint8Array;
}

/** HELLO slot index of the bootloader region. */
export const BOOTLOADER_SLOT_INDEX = 0xf0;

/** What HELLO says about the application slots and the running bootloader. */
export function describeSlots(input: {
  readonly flash: FlashReader;
  readonly layout: FlashLayout;
  readonly device: DeviceConstants;
  readonly timing: BootTiming;
  readonly state: BootState;
  readonly runningApp: SlotIndex | null;
  readonly bootloader: Manifest | null;
}): SlotInfo[] {
  const { flash, layout, device, timing, state } = input;
  const out: SlotInfo[] = SLOT_INDICES.map((slot) => {
    const c = inspectSlot(flash, layout, 0, slot, device, timing, state.minSecurityCounter);
    let flags = 0;
    if (input.runningApp === slot) flags |= SlotFlag.active;
    if (state.confirmed === slot) flags |= SlotFlag.confirmed;
    if (state.pending === slot) flags |= SlotFlag.pending_test;
    if (c.status === 'valid') flags |= SlotFlag.valid;
    const info: SlotInfo = { index: slot, version: c.manifest ? [...c.manifest.version] : [0, 0, 0], flags };
    if (c.manifest) {
      info.size = c.manifest.size;
      info.sha256 = c.manifest.sha256;
    }
    return info;
  });
  if (input.bootloader) {
    out.push({
      index: BOOTLOADER_SLOT_INDEX,
      version: [...input.bootloader.version],
      flags: SlotFlag.active | SlotFlag.confirmed | SlotFlag.valid,
      size: input.bootloader.size,
      sha256: input.bootloader.sha256,
    });
  }
  return out;
}
