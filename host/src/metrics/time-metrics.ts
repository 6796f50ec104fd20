import type { Registry } from 'prom-client';
import type { TimeView } from '../api/daemon-api.js';
import { type Sample, scrapedCounter, scrapedGauge } from './define.js';
import { deviceLabel } from './labels.js';
import type { Snapshot } from './source.js';

/** Per-device clock alignment (docs/time.md): the time service's view of each device's clock. */
export function timeMetrics(registry: Registry, snap: () => Snapshot): void {
  const each = (value: (t: TimeView) => number | undefined) =>
    function* (): Iterable<Sample<'device'>> {
      for (const t of snap().time) {
        const v = value(t);
        if (v !== undefined && Number.isFinite(v)) yield [{ device: deviceLabel(t.address) }, v];
      }
    };
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_clock_synced',
      help: "Whether the daemon can place each device's timestamps on the host timeline (1) or not yet (0).",
      labelNames: ['device'],
    },
    each((t) => (t.synced ? 1 : 0)),
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_clock_offset_seconds',
      help: 'Device clock minus host clock now (s); a wrapping counter shows its wrapped offset. Absent until the clock is aligned.',
      labelNames: ['device'],
    },
    each((t) => (t.offsetUs === undefined ? undefined : t.offsetUs / 1e6)),
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_clock_bound_seconds',
      help: 'Error bound of the alignment (s): a device timestamp placed on the host timeline is within ± this. Absent until aligned.',
      labelNames: ['device'],
    },
    each((t) => (t.boundUs === undefined ? undefined : t.boundUs / 1e6)),
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_clock_skew_ppm',
      help: 'How fast the device clock runs against the host clock, parts per million.',
      labelNames: ['device'],
    },
    each((t) => t.skewPpm),
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_clock_epoch',
      help: "The device clock's epoch: goes up by one each time its clock restarts (reboot, jump).",
      labelNames: ['device'],
    },
    each((t) => t.epoch),
  );
  scrapedCounter(
    registry,
    {
      name: 'mcubus_device_clock_sync_total',
      help: 'Time-sync exchanges with each device by outcome: samples (used), outliers, jumps, rejected, failed.',
      labelNames: ['device', 'outcome'],
    },
    function* () {
      for (const t of snap().time) {
        for (const [outcome, n] of Object.entries(t.counters))
          yield [{ device: deviceLabel(t.address), outcome }, n];
      }
    },
  );
}
