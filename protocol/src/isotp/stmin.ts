/**
 * STmin, the minimum gap the receiver asks for between consecutive frames, travels as one byte:
 * 0x00..0x7F = 0..127 ms, 0xF1..0xF9 = 100..900 µs, every other value reserved. ISO 15765-2 has the
 * sender treat a reserved value as the longest gap, 127 ms, so a peer with newer rules is never flooded.
 */

export const STMIN_MAX_US = 127_000;

export function decodeStMin(byte: number): number {
  if (byte >= 0x00 && byte <= 0x7f) return byte * 1000;
  if (byte >= 0xf1 && byte <= 0xf9) return (byte - 0xf0) * 100;
  return STMIN_MAX_US;
}

/**
 * The byte for a gap of at least `us` microseconds. Values that cannot be carried exactly are rounded
 * up (STmin is a lower bound, so asking for a little more is always safe): 250 µs → 0xF3 (300 µs),
 * 950 µs → 0x01 (1 ms), 1500 µs → 0x02 (2 ms).
 */
export function encodeStMin(us: number): number {
  if (!Number.isFinite(us) || us < 0 || us > STMIN_MAX_US) {
    throw new RangeError(`STmin must be 0..${STMIN_MAX_US} µs, not ${us}`);
  }
  if (us === 0) return 0x00;
  if (us <= 900) return 0xf0 + Math.ceil(us / 100);
  return Math.ceil(us / 1000);
}
