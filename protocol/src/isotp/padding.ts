import { CLASSIC_MAX_LENGTH, roundUpFdLength } from './can-frame.js';

/** Default padding byte (ISO 15765-2 recommends 0xCC: few stuff bits, easy to spot in traces). */
export const DEFAULT_PADDING = 0xcc;

/**
 * Pads the PCI+data bytes of one frame to the length it goes on the bus with:
 * - `padding` a byte: short frames are padded to 8 bytes with it (classic and FD alike);
 * - `padding` null: classic frames keep their exact length;
 * - CAN FD additionally rounds up to the next valid FD length, with the padding byte or 0xCC.
 * Receivers ignore padding: the PCI tells them how many bytes are data.
 */
export function padFrameData(bytes: Uint8Array, fd: boolean, padding: number | null): Uint8Array {
  let length = bytes.length;
  if (padding !== null && length < CLASSIC_MAX_LENGTH) length = CLASSIC_MAX_LENGTH;
  if (fd) length = roundUpFdLength(length);
  if (length === bytes.length) return bytes;
  const out = new Uint8Array(length).fill(padding ?? DEFAULT_PADDING);
  out.set(bytes);
  return out;
}
