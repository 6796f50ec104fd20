/** Modbus fields are big-endian (only the CRC is little-endian). */

/**
 * A copy of `bytes[start, end)`. Not `.slice()`: on a Node Buffer (what serial ports deliver) that
 * returns a view, and a decoded value must not change when the caller reuses its buffer.
 */
export function copyBytes(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

export function readU16(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
}

export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = (value >>> 8) & 0xff;
  bytes[offset + 1] = value & 0xff;
}

export function isU16(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

export function isU8(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xff;
}
