/**
 * CRC-16/MODBUS: polynomial 0x8005 processed reflected (0xA001), initial value 0xFFFF, no final
 * XOR. The check value of ASCII "123456789" is 0x4B37. On the wire the CRC is sent low byte first,
 * which is the opposite of every other Modbus field.
 */

const POLY_REFLECTED = 0xa001;

/** One entry per byte value: the CRC register after shifting that byte through 8 times. */
const TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLY_REFLECTED : crc >>> 1;
    table[n] = crc;
  }
  return table;
})();

export const CRC16_MODBUS_INIT = 0xffff;

/** CRC-16/MODBUS of `bytes[start, end)`; the range form lets the framer check in place. */
export function crc16Modbus(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = CRC16_MODBUS_INIT;
  for (let i = start; i < end; i++) {
    crc = (crc >>> 8) ^ TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff]!;
  }
  return crc;
}
