/** "Did you mean" for unknown keys and enum values: most config mistakes are typos or wrong case. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    // 'baudrate' for 'baud', 'device' for 'devices': one contains the other.
    const contained = Math.min(c.length, lower.length) >= 3 && (c.startsWith(lower) || lower.startsWith(c));
    const distance = contained ? 1 : editDistance(lower, c);
    const limit = c.length >= 5 ? 2 : 1;
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** Levenshtein distance; keys are short so the quadratic table is fine. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = row;
  }
  return prev[b.length]!;
}
