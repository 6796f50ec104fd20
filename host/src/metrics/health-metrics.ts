import type { Registry } from 'prom-client';
import { scrapedGauge, stateSet } from './define.js';
import { deviceLabel } from './labels.js';
import type { Snapshot } from './source.js';

/** HealthView.state values (docs/health.md). */
export const HEALTH_STATES = [
  'unknown',
  'up',
  'suspect',
  'down',
  'unreachable',
  'bootloader',
  'updating',
  'safe',
  'degraded',
  'zombie',
] as const;

/** Per-device health, as the health monitor (and register probes of third-party slaves) see it. */
export function healthMetrics(registry: Registry, snap: () => Snapshot): void {
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_health_state',
      help: `Health of each device: 1 for its current state, 0 for the others (${HEALTH_STATES.join(', ')}). Third-party Modbus slaves have device 0x100 + slave.`,
      labelNames: ['device', 'state'],
    },
    function* () {
      for (const h of snap().health)
        yield* stateSet<'device' | 'state'>(
          { device: deviceLabel(h.address) },
          'state',
          HEALTH_STATES,
          h.state,
        );
    },
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_reset_count',
      help: 'The reset count each device reports in its heartbeats (its own counter, kept across reboots).',
      labelNames: ['device'],
    },
    function* () {
      for (const h of snap().health)
        if (h.resetCount !== undefined) yield [{ device: deviceLabel(h.address) }, h.resetCount];
    },
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_crash_loop',
      help: 'Whether each device is in a crash loop (1) or not (0).',
      labelNames: ['device'],
    },
    function* () {
      for (const h of snap().health) yield [{ device: deviceLabel(h.address) }, h.crashLoop ? 1 : 0];
    },
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_heartbeat_interval_seconds',
      help: 'The heartbeat interval the health monitor expects of each device (learned), s.',
      labelNames: ['device'],
    },
    function* () {
      for (const h of snap().health) {
        if (h.expectedIntervalMs !== undefined)
          yield [{ device: deviceLabel(h.address) }, h.expectedIntervalMs / 1000];
      }
    },
  );
}
