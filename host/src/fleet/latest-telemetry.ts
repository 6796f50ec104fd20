import type { TelemetryView } from '../api/daemon-api.js';

/**
 * The newest value of every (device, channel), kept up to date from the stored telemetry by id: each
 * poll asks only for the samples after the last one seen, so the cost follows the sample rate, not
 * the size of the store.
 */
export class LatestTelemetry {
  readonly #latest = new Map<number, Map<number, number>>();
  #lastId: number | undefined;

  constructor(private readonly query: (q: { sinceId?: number; limit: number }) => TelemetryView[]) {}

  /** Reads what arrived since the last call; returns the current table. */
  poll(): ReadonlyMap<number, ReadonlyMap<number, number>> {
    // The first read takes the newest samples (newest first); later ones follow on by id (oldest first).
    const first = this.#lastId === undefined;
    for (let round = 0; round < 100; round++) {
      const batch = first
        ? this.query({ limit: 1000 }).reverse()
        : this.query({ sinceId: this.#lastId!, limit: 1000 });
      for (const s of batch) {
        const channels = this.#latest.get(s.device) ?? new Map<number, number>();
        this.#latest.set(s.device, channels);
        channels.set(s.channel, s.value);
        this.#lastId = Math.max(this.#lastId ?? 0, s.id);
      }
      if (first || batch.length < 1000) break;
    }
    if (this.#lastId === undefined) this.#lastId = 0;
    return this.#latest;
  }
}
