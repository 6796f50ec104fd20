import type { CanFrame } from '@mcubus/protocol';

/**
 * Arbitration as on the wire: every contender sends its arbitration field bit by bit and drops out at
 * the first bit where it sends recessive (1) and sees dominant (0). The field is
 *   base:     ID[10:0] RTR/RRS(0)
 *   extended: ID[28:18] SRR(1) IDE(1) ID[17:0] RTR/RRS(0)
 * (IDE of a base frame, 0, follows its RTR and meets the extended frame's IDE). This module encodes the
 * field, padded with zeros, as one 32-bit number so that "lower key wins" is exactly that bitwise
 * outcome: a base frame beats an extended one with the same 11-bit base id at the SRR position.
 */
export function arbitrationKey(frame: Pick<CanFrame, 'id' | 'extended'>): number {
  if (!frame.extended) return frame.id * 2 ** 21; // ID[10:0], then RTR=0, IDE=0 and padding
  const base = frame.id >>> 18;
  const extension = frame.id & 0x3ffff;
  // ID[10:0] SRR=1 IDE=1 ID[17:0] RTR=0: 11 + 1 + 1 + 18 + 1 = 32 bits.
  return base * 2 ** 21 + 2 ** 20 + 2 ** 19 + extension * 2;
}

/** The arbitration field as the bits sent (0 dominant), for tests and traces. */
export function arbitrationBits(frame: Pick<CanFrame, 'id' | 'extended'>): number[] {
  const width = frame.extended ? 32 : 13;
  const key = arbitrationKey(frame);
  const bits: number[] = [];
  for (let i = 31; i > 31 - width; i--) bits.push(Math.floor(key / 2 ** i) % 2);
  return bits;
}

/** Index of the winner among contenders (lowest key; equal keys: the first listed, see CanBus). */
export function arbitrate(keys: readonly number[]): number {
  let best = -1;
  keys.forEach((key, i) => {
    if (best < 0 || key < keys[best]!) best = i;
  });
  return best;
}
