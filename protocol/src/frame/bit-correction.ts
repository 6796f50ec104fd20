import { CRC_SIZE, MIN_FRAME_SIZE, OFFSET } from './constants.js';
import { frameCrc } from './frame.js';

/** Reflected CRC-32C table: the register after one byte `v` shifted in from zero (the linear part). */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Where a single flipped bit was found and undone. */
export interface BitCorrection {
  /** Byte index in the frame (the CRC field included). */
  readonly byte: number;
  /** Bit within the byte, 0 = least significant. */
  readonly bit: number;
}

/**
 * Locates and undoes one flipped bit in a frame whose CRC fails (docs/protocol.md §6, "Single-bit
 * repair"). CRC-32C has a Hamming distance of at least 4 at every length up to 2^31 bits, so each
 * single-bit error has its own syndrome and no two-bit error shares one: a frame with one flipped bit
 * is repaired exactly, a frame with two is still rejected. On a UART a bad bit almost always flips one
 * data bit of one byte, so this saves ~90 % of the frames a 1e-5 bit error rate would otherwise cost.
 *
 * Mutates `frame` when it finds the bit; returns null (frame untouched) when the CRC already matches or
 * no single bit explains the mismatch. Pure: no allocation beyond a few numbers; O(8·n) table steps.
 */
export function repairSingleBit(frame: Uint8Array): BitCorrection | null {
  if (frame.length < MIN_FRAME_SIZE) return null;
  const bodyEnd = frame.length - CRC_SIZE;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const syndrome = (frameCrc(frame, bodyEnd) ^ view.getUint32(bodyEnd, true)) >>> 0;
  if (syndrome === 0) return null;
  // A flip inside the stored CRC: the data is intact.
  if ((syndrome & (syndrome - 1)) === 0) {
    const k = 31 - Math.clz32(syndrome);
    const at = { byte: bodyEnd + (k >> 3), bit: k & 7 };
    frame[at.byte] = frame[at.byte]! ^ (1 << at.bit);
    return at;
  }
  // The CRC is affine: flipping bit b of byte i changes it by f^(bodyEnd-1-i)(TABLE[1<<b]), where f
  // shifts one zero byte through the register. Walk i down from the last body byte.
  const reg = new Uint32Array(8);
  for (let b = 0; b < 8; b++) reg[b] = TABLE[1 << b]!;
  for (let i = bodyEnd - 1; i >= 0; i--) {
    // The TTL byte is outside the CRC (masked): a flip there has syndrome 0 and is never "found".
    if (i !== OFFSET.ttl) {
      for (let b = 0; b < 8; b++) {
        if (reg[b] === syndrome) {
          frame[i] = frame[i]! ^ (1 << b);
          return { byte: i, bit: b };
        }
      }
    }
    for (let b = 0; b < 8; b++) {
      const c = reg[b]!;
      reg[b] = TABLE[c & 0xff]! ^ (c >>> 8);
    }
  }
  return null;
}
