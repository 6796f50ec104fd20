/**
 * Orders versions [major, minor, patch(, build)] numerically; a missing build counts as 0, so 1.2.3 and
 * 1.2.3.0 are equal. Returns <0, 0 or >0 like a sort comparator.
 */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function formatVersion(v: readonly number[]): string {
  return v.join('.');
}
