/**
 * Counts events by cause (e.g. bad frames by error code). Every rejected input in mcubus is counted
 * somewhere, so that "where did my message go" always has a number to point at.
 */
export class CauseCounters<C extends string = string> {
  readonly #counts = new Map<C, number>();

  add(cause: C, n = 1): void {
    this.#counts.set(cause, (this.#counts.get(cause) ?? 0) + n);
  }

  get(cause: C): number {
    return this.#counts.get(cause) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const n of this.#counts.values()) sum += n;
    return sum;
  }

  /** A plain, sorted copy for logs, metrics and tests. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of [...this.#counts.keys()].sort()) out[key] = this.#counts.get(key) ?? 0;
    return out;
  }
}
