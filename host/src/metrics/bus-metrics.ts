import type { Registry } from 'prom-client';
import { counterKind } from './counter-kinds.js';
import { type Sample, scrapedCounter, scrapedGauge, stateSet } from './define.js';
import type { Snapshot } from './source.js';

/** BusView.state values (plus "failed": a bus that could not start and does not retry). */
const BUS_STATES = ['starting', 'open', 'lost', 'closed', 'failed'] as const;

/** Per-bus metrics: state, frames and bytes each way, error causes and the other transport counters. */
export function busMetrics(registry: Registry, snap: () => Snapshot): void {
  scrapedGauge(
    registry,
    {
      name: 'mcubus_bus_state',
      help: 'State of each bus: 1 for its current state (starting, open, lost, closed, failed), 0 for the others.',
      labelNames: ['bus', 'kind', 'state'],
    },
    function* () {
      for (const b of snap().status.buses)
        yield* stateSet<'bus' | 'kind' | 'state'>(
          { bus: b.name, kind: b.kind },
          'state',
          BUS_STATES,
          b.state,
        );
    },
  );

  const traffic = (field: 'Frames' | 'Bytes') =>
    function* (): Iterable<Sample<'bus' | 'direction'>> {
      for (const [bus, t] of snap().traffic?.buses ?? []) {
        yield [{ bus, direction: 'rx' }, t[`rx${field}`]];
        yield [{ bus, direction: 'tx' }, t[`tx${field}`]];
      }
    };
  scrapedCounter(
    registry,
    {
      name: 'mcubus_bus_frames_total',
      help: 'mcubus frames the daemon received from (rx) or handed to (tx) each bus.',
      labelNames: ['bus', 'direction'],
    },
    traffic('Frames'),
  );
  scrapedCounter(
    registry,
    {
      name: 'mcubus_bus_bytes_total',
      help: 'Bytes of those mcubus frames (header, body and CRC; not the bus framing around them).',
      labelNames: ['bus', 'direction'],
    },
    traffic('Bytes'),
  );

  const counters = (kind: 'error' | 'activity', label: 'cause' | 'counter') =>
    function* (): Iterable<Sample<'bus' | 'cause' | 'counter'>> {
      for (const b of snap().status.buses) {
        for (const [name, value] of Object.entries(b.counters)) {
          if (counterKind(name) === kind) yield [{ bus: b.name, [label]: name }, value];
        }
      }
    };
  scrapedCounter(
    registry,
    {
      name: 'mcubus_bus_errors_total',
      help: 'Errors on each bus by cause: the transport counters (bad frames by decode error, timeouts, write errors, port losses, ...) and the link layer ones (link_*). Causes as in `mcubus status`.',
      labelNames: ['bus', 'cause'],
    },
    counters('error', 'cause'),
  );
  scrapedCounter(
    registry,
    {
      name: 'mcubus_bus_activity_total',
      help: "Each bus's other counters (wire frames and bytes, polls, link requests and answers), named as in `mcubus status`.",
      labelNames: ['bus', 'counter'],
    },
    counters('activity', 'counter'),
  );
}
