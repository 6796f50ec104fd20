import { Histogram, type Registry } from 'prom-client';
import { type Sample, scrapedCounter, scrapedGauge } from './define.js';
import { deviceLabel } from './labels.js';
import type { MetricsSource, Snapshot } from './source.js';

/**
 * RTT buckets (s): from a direct UART hop (under 1 ms) through a gateway and CAN (a few ms) to a busy
 * Modbus line or a retried request (hundreds of ms).
 */
export const RTT_BUCKETS_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/** Link counters per destination that are failed requests, and the cause label each gets. */
const REQUEST_FAILURES: Record<string, string> = {
  timeouts: 'timeout',
  error_answers: 'error_answer',
  cancelled: 'cancelled',
};

/**
 * Per-device metrics: identity, frames and bytes, requests and retries, round-trip times. Returns a
 * function that stops observing round trips.
 */
export function deviceMetrics(registry: Registry, snap: () => Snapshot, source: MetricsSource): () => void {
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_info',
      help: 'Every registered device (value 1), with its name, bus, gateway (via), hardware, firmware and mode as labels.',
      labelNames: [
        'device',
        'name',
        'bus',
        'via',
        'hardware_id',
        'firmware_version',
        'bootloader_version',
        'mode',
      ],
    },
    function* () {
      for (const d of snap().status.devices) {
        yield [
          {
            device: deviceLabel(d.address),
            name: d.name ?? '',
            bus: d.bus,
            via: d.via === null ? '' : deviceLabel(d.via),
            hardware_id: d.hardwareId ?? '',
            firmware_version: d.firmwareVersion ?? '',
            bootloader_version: d.bootloaderVersion ?? '',
            mode: d.mode,
          },
          1,
        ];
      }
    },
  );
  scrapedGauge(
    registry,
    {
      name: 'mcubus_device_last_seen_timestamp_seconds',
      help: 'When the daemon last heard from each device (Unix time, s).',
      labelNames: ['device'],
    },
    function* () {
      for (const d of snap().status.devices) yield [{ device: deviceLabel(d.address) }, d.lastSeenMs / 1000];
    },
  );

  const known = () => new Set(snap().status.devices.map((d) => d.address));
  const traffic = (field: 'Frames' | 'Bytes') =>
    function* (): Iterable<Sample<'device' | 'direction'>> {
      const devices = known();
      for (const [address, t] of snap().traffic?.devices ?? []) {
        if (!devices.has(address)) continue;
        yield [{ device: deviceLabel(address), direction: 'rx' }, t[`rx${field}`]];
        yield [{ device: deviceLabel(address), direction: 'tx' }, t[`tx${field}`]];
      }
    };
  scrapedCounter(
    registry,
    {
      name: 'mcubus_device_frames_total',
      help: 'mcubus frames from (rx, by source address) and to (tx, by destination address) each device, through gateways too.',
      labelNames: ['device', 'direction'],
    },
    traffic('Frames'),
  );
  scrapedCounter(
    registry,
    {
      name: 'mcubus_device_bytes_total',
      help: 'Bytes of those mcubus frames (header, body and CRC).',
      labelNames: ['device', 'direction'],
    },
    traffic('Bytes'),
  );

  /** One link counter per destination device (the link layer keeps them by address). */
  const linkCounter = (counter: string) =>
    function* (): Iterable<Sample<'device'>> {
      for (const [address, c] of Object.entries(snap().link.byDst)) {
        yield [{ device: deviceLabel(Number(address)) }, c[counter] ?? 0];
      }
    };
  scrapedCounter(
    registry,
    {
      name: 'mcubus_device_requests_total',
      help: 'Requests the daemon sent to each device (first attempts; retries are counted apart).',
      labelNames: ['device'],
    },
    linkCounter('requests'),
  );
  scrapedCounter(
    registry,
    {
      name: 'mcubus_device_request_retries_total',
      help: 'Requests to each device sent again because no answer came in time.',
      labelNames: ['device'],
    },
    linkCounter('retried'),
  );
  scrapedCounter(
    registry,
    {
      name: 'mcubus_device_request_failures_total',
      help: 'Requests to each device that failed, by cause: timeout (no answer after every attempt), error_answer (the device or a gateway answered with an error), cancelled (no route any more).',
      labelNames: ['device', 'cause'],
    },
    function* () {
      for (const [address, c] of Object.entries(snap().link.byDst)) {
        for (const [counter, cause] of Object.entries(REQUEST_FAILURES)) {
          yield [{ device: deviceLabel(Number(address)), cause }, c[counter] ?? 0];
        }
      }
    },
  );

  const rtt = new Histogram({
    name: 'mcubus_device_rtt_seconds',
    help: 'Round-trip time of every answered request to each device (s), from its last transmission to the answer.',
    labelNames: ['device'],
    buckets: RTT_BUCKETS_S,
    registers: [registry],
  });
  return source.onAnswer((device, rttUs) => rtt.observe({ device: deviceLabel(device) }, rttUs / 1e6));
}
