import type { HealthView, StatusView, TimeView, UpdateStatusView } from '../api/daemon-api.js';
import type { LinkCounters } from '../link/core.js';
import type { TrafficSnapshot } from './traffic.js';

/** What /metrics reads from the daemon: its existing state, read on each scrape (Daemon implements it). */
export interface MetricsSource {
  status(): StatusView;
  health(): HealthView[];
  time(): TimeView[];
  updates(): UpdateStatusView[];
  /** The link layer's counters: per bus, and per destination device (requests, retries, timeouts). */
  linkCounters(): LinkCounters;
  /** Told every answered request's round trip; returns an unsubscribe function. */
  onAnswer(listener: (device: number, rttUs: number) => void): () => void;
}

/**
 * One scrape's view of the daemon. Taken once per scrape, so every metric of one exposition agrees
 * with the others (and status(), which flushes the registry, runs once rather than once per metric).
 */
export interface Snapshot {
  readonly status: StatusView;
  readonly health: readonly HealthView[];
  readonly time: readonly TimeView[];
  readonly updates: readonly UpdateStatusView[];
  readonly link: LinkCounters;
  /** Frames and bytes per bus and device; absent when the transports were not wrapped for counting. */
  readonly traffic?: TrafficSnapshot;
}

export function takeSnapshot(source: MetricsSource, traffic?: { snapshot(): TrafficSnapshot }): Snapshot {
  return {
    status: source.status(),
    health: source.health(),
    time: source.time(),
    updates: source.updates(),
    link: source.linkCounters(),
    ...(traffic ? { traffic: traffic.snapshot() } : {}),
  };
}
