/**
 * Device clocks are free-running µs counters of 16…64 bits that wrap. The host reasons in unwrapped
 * µs: a raw reading is extended to the value nearest a reference (the last reading, or where the
 * current mapping predicts the counter to be), which is right as long as the two are less than half a
 * wrap apart (32 bits: 35 minutes).
 */
export function unwrapNear(raw: number, reference: number, bits: number): number {
  if (bits >= 53) return raw;
  const m = 2 ** bits;
  const base = reference - mod(reference, m);
  let v = base + mod(raw, m);
  if (v - reference > m / 2) v -= m;
  else if (reference - v > m / 2) v += m;
  return v;
}

/** The difference a − b of two raw readings, modulo the counter width, as a signed number. */
export function counterDelta(a: number, b: number, bits: number): number {
  if (bits >= 53) return a - b;
  const m = 2 ** bits;
  const r = mod(a - b, m);
  return r >= m / 2 ? r - m : r;
}

function mod(x: number, m: number): number {
  return ((x % m) + m) % m;
}
