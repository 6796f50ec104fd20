/** Hex of the first `max` bytes, for trace details: enough to debug, bounded so traces stay small. */
export function hexPreview(bytes: ArrayLike<number>, max = 32): string {
  let s = '';
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return bytes.length > max ? `${s}…` : s;
}
