import type { Manifest } from '@mcubus/protocol';
import type { SlotIndex } from '../flash/layout.js';

/** What runs now, as the boot decided: the receiver needs it to pick target slots and floors. */
export interface RunningImage {
  readonly mode: 'app' | 'bootloader';
  readonly appSlot: SlotIndex | null;
  readonly appManifest: Manifest | null;
  readonly blSlot: SlotIndex;
  readonly blManifest: Manifest;
}
