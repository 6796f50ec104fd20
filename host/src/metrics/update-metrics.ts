import type { Registry } from 'prom-client';
import type { UpdateStatusView } from '../api/daemon-api.js';
import { type Sample, scrapedGauge, stateSet } from './define.js';
import { deviceLabel } from './labels.js';
import type { Snapshot } from './source.js';

/** UpdateStatusView.phase values (docs/updates.md). */
export const UPDATE_PHASES = [
  'probe',
  'begin',
  'transfer',
  'verify',
  'activate',
  'boot_wait',
  'reset',
  'trial',
  'confirm',
  'done',
  'failed',
  'rolled_back',
  'cancelled',
] as const;

/** Firmware updates under way, and the last finished one of each device. */
export function updateMetrics(registry: Registry, snap: () => Snapshot): void {
  const each = (value: (u: UpdateStatusView) => number | null) =>
    function* (): Iterable<Sample<'device'>> {
      for (const u of snap().updates) {
        const v = value(u);
        if (v !== null) yield [{ device: deviceLabel(u.device) }, v];
      }
    };
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_update_phase',
      help: `Phase of the current (or last) update of each device: 1 for the current phase, 0 for the others (${UPDATE_PHASES.join(', ')}); kind (app, bootloader) and version label the image.`,
      labelNames: ['device', 'kind', 'version', 'phase'],
    },
    function* () {
      for (const u of snap().updates) {
        yield* stateSet<'device' | 'kind' | 'version' | 'phase'>(
          { device: deviceLabel(u.device), kind: u.kind, version: u.version },
          'phase',
          UPDATE_PHASES,
          u.phase,
        );
      }
    },
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_update_size_bytes',
      help: 'Size of the image being (or last) sent to each device, bytes.',
      labelNames: ['device'],
    },
    each((u) => u.size),
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_update_done_bytes',
      help: 'Bytes of that image the device has acknowledged (resumed bytes included).',
      labelNames: ['device'],
    },
    each((u) => u.acked),
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_update_rate_bytes_per_second',
      help: 'Transfer goodput of the update so far, bytes/s (absent before the transfer has a rate).',
      labelNames: ['device'],
    },
    each((u) => u.rateBps),
  );
}
