/**
 * UPDATE_ACK `sack`: bit i (byte i >> 3, bit i & 7, LSB first) says the chunk at index
 * cumulativeChunk + 1 + i is stored. (The chunk at cumulativeChunk itself is never stored, or
 * cumulative would be past it.) Returns undefined when nothing beyond cumulative is stored.
 */
export function buildSack(
  cumulativeChunk: number,
  stored: Iterable<number>,
  maxBytes = 64,
): Uint8Array | undefined {
  let highest = -1;
  const bits: number[] = [];
  for (const chunk of stored) {
    const i = chunk - cumulativeChunk - 1;
    if (i < 0 || i >= maxBytes * 8) continue;
    bits.push(i);
    if (i > highest) highest = i;
  }
  if (highest < 0) return undefined;
  const out = new Uint8Array((highest >> 3) + 1);
  for (const i of bits) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

/** The chunk indexes a sack marks as stored (host side, and tests). */
export function sackChunks(cumulativeChunk: number, sack: Uint8Array | undefined): number[] {
  const out: number[] = [];
  if (!sack) return out;
  for (let i = 0; i < sack.length * 8; i++)
    if (sack[i >> 3]! & (1 << (i & 7))) out.push(cumulativeChunk + 1 + i);
  return out;
}
