import { hexAddress, type Series } from '../model.js';
import { Chart } from './chart.js';

export interface ClockHistory {
  readonly address: number;
  readonly name?: string;
  /** Offset (device − host, µs) minus the first one seen: the raw offset is a counter value. */
  readonly offsetDelta: Series;
  readonly bound: Series;
  readonly skewPpm?: number;
}

/**
 * Per device: how its clock offset moves against the host's (skew and drift show as slope) and the
 * error bound of the mapping, on a second axis.
 */
export function ClockPlots({ clocks }: { clocks: ClockHistory[] }) {
  if (clocks.length === 0) return <p class="empty">No clock mappings yet.</p>;
  return (
    <div class="grid" data-testid="clock-plots">
      {clocks.map((c) => (
        <Chart
          key={c.address}
          title={`${hexAddress(c.address)} ${c.name ?? ''}${c.skewPpm !== undefined ? ` · skew ${c.skewPpm.toFixed(1)} ppm` : ''}`}
          height={160}
          options={{
            scales: { x: { time: true }, bound: {} },
            axes: [
              {},
              { label: 'Δ offset µs', size: 70 },
              { scale: 'bound', side: 1, label: 'bound µs', size: 60 },
            ],
            series: [
              {},
              { label: 'Δ offset (µs)', stroke: '#3366cc', spanGaps: true },
              { label: 'bound (µs)', stroke: '#dc7633', scale: 'bound', spanGaps: true },
            ],
          }}
          data={[c.offsetDelta.x, c.offsetDelta.y, c.bound.y]}
        />
      ))}
    </div>
  );
}
