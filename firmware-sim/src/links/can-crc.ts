/**
 * The CRCs of CAN frames (ISO 11898-1:2015 §10.4.2.6), computed bit by bit the way the controller's
 * shift register does it, because what they cover differs per frame kind: classic CRC-15 covers the
 * destuffed bits SOF..data, the CAN FD CRCs also cover the dynamic stuff bits and the stuff count.
 */

export type CanCrcLength = 15 | 17 | 21;

interface CrcSpec {
  /** Generator polynomial without its x^n term. */
  readonly poly: number;
  /** Register value before the first bit. */
  readonly init: number;
}

const SPECS: Readonly<Record<CanCrcLength, CrcSpec>> = {
  // x^15 + x^14 + x^10 + x^8 + x^7 + x^4 + x^3 + 1
  15: { poly: 0x4599, init: 0 },
  // x^17 + x^16 + x^14 + x^13 + x^11 + x^6 + x^4 + x^3 + x + 1. ISO CAN FD starts the register with
  // its top bit set (unlike the original Bosch FD proposal), so leading dominant bits change the CRC.
  17: { poly: 0x1685b, init: 1 << 16 },
  // x^21 + x^20 + x^13 + x^11 + x^7 + x^4 + x^3 + 1, same initialisation rule as CRC-17.
  21: { poly: 0x102899, init: 1 << 20 },
};

/**
 * The CRC of `length` bits over `bits` (one bus level per entry: 0 dominant, 1 recessive). `init`
 * overrides the register start value (the CRC catalogue's check values use 0 for all three).
 */
export function canCrc(length: CanCrcLength, bits: ArrayLike<number>, init = SPECS[length].init): number {
  const { poly } = SPECS[length];
  const mask = (1 << length) - 1;
  const top = length - 1;
  let reg = init;
  for (let i = 0; i < bits.length; i++) {
    const feedback = (bits[i]! & 1) ^ ((reg >>> top) & 1);
    reg = (reg << 1) & mask;
    if (feedback) reg ^= poly;
  }
  return reg;
}

/** The CRC length of a frame: 15 for classic CAN; 17 or 21 for CAN FD, by data length. */
export function canCrcLength(fd: boolean, dataLength: number): CanCrcLength {
  if (!fd) return 15;
  return dataLength <= 16 ? 17 : 21;
}
