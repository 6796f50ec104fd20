import type { Prng } from '../kernel/prng.js';
import { ERASED_BYTE } from './config.js';

/**
 * What a power cut leaves behind. Both effects are deliberately hostile: software that survives them
 * survives the gentler real thing (where cells end up weakly programmed, or read unstably).
 */

/** An interrupted sector erase: each byte is erased, unchanged, or random. */
export function tearErase(sector: Uint8Array, rng: Prng): void {
  for (let i = 0; i < sector.length; i++) {
    const roll = rng.int(3);
    if (roll === 0) sector[i] = ERASED_BYTE;
    else if (roll === 2) sector[i] = rng.int(256);
  }
}

/**
 * An interrupted program of `units` write units: a random prefix of whole units is written, the unit
 * being programmed at the cut is garbled, the rest stays as it was. Returns the prefix length.
 */
export function tearProgram(
  target: Uint8Array,
  data: Uint8Array,
  unit: number,
  units: number,
  rng: Prng,
): number {
  const prefix = rng.int(units);
  target.set(data.subarray(0, prefix * unit), 0);
  for (let i = prefix * unit; i < (prefix + 1) * unit; i++) target[i] = rng.int(256);
  return prefix;
}
