import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { busMetrics } from './bus-metrics.js';
import { deviceMetrics } from './device-metrics.js';
import { healthMetrics } from './health-metrics.js';
import { type MetricsSource, type Snapshot, takeSnapshot } from './source.js';
import { timeMetrics } from './time-metrics.js';
import type { TrafficCounter } from './traffic.js';
import { updateMetrics } from './update-metrics.js';

export interface MetricsOptions {
  readonly version: string;
  /** Counts frames and bytes per bus and device; without it those metrics are absent. */
  readonly traffic?: TrafficCounter;
  /** Node process metrics (CPU, memory, event loop lag, GC); default true. */
  readonly processMetrics?: boolean;
}

export interface DaemonMetrics {
  /** Its own registry: never prom-client's global one, so two daemons in one process never mix. */
  readonly registry: Registry;
  /** The exposition's content type (Prometheus text format 0.0.4). */
  readonly contentType: string;
  /** One scrape: reads the daemon's state once and renders every metric. */
  render(): Promise<string>;
  /** Stops observing the daemon (round trips). */
  close(): void;
}

/** The daemon's Prometheus metrics (docs/observability.md "Metrics"). */
export function createMetrics(source: MetricsSource, options: MetricsOptions): DaemonMetrics {
  const registry = new Registry();
  let current: Snapshot | undefined;
  const snap = (): Snapshot => {
    current ??= takeSnapshot(source, options.traffic);
    return current;
  };
  const info = new Gauge({
    name: 'mcubus_daemon_info',
    help: 'mcubusd itself (value 1), its version as a label.',
    labelNames: ['version'],
    registers: [registry],
  });
  info.set({ version: options.version }, 1);
  busMetrics(registry, snap);
  const stopRtt = deviceMetrics(registry, snap, source);
  healthMetrics(registry, snap);
  timeMetrics(registry, snap);
  updateMetrics(registry, snap);
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return {
    registry,
    contentType: registry.contentType,
    async render() {
      current = takeSnapshot(source, options.traffic);
      return registry.metrics();
    },
    close: stopRtt,
  };
}
