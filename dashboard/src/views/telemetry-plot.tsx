import uPlot from 'uplot';
import { hexAddress, type Series } from '../model.js';
import { Chart } from './chart.js';

const PALETTE = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00'];

export interface TelemetryHistory {
  readonly device: number;
  readonly channel: number;
  /** x: aligned host time (s since the Unix epoch), y: the value. */
  readonly series: Series;
}

/**
 * Every device's telemetry on one host time axis: the samples are placed by their aligned time (the
 * device's timestamp mapped through the time service), not by when they arrived.
 */
export function TelemetryPlot({ histories }: { histories: TelemetryHistory[] }) {
  if (histories.length === 0) return <p class="empty">No aligned telemetry yet.</p>;
  // Series are sampled at their own times: join() lines them up on one x, and a channel with no sample
  // at another's time is `undefined` there (skipped), so only the explicit nulls of a pause cut a line.
  const data = uPlot.join(histories.map((h) => [h.series.x, h.series.y] as uPlot.AlignedData));
  return (
    <div data-testid="telemetry-plot">
      <Chart
        title="Telemetry (aligned time)"
        height={220}
        options={{
          scales: { x: { time: true } },
          series: [
            {},
            ...histories.map((h, i) => ({
              label: `${hexAddress(h.device)} ch${h.channel}`,
              stroke: PALETTE[i % PALETTE.length]!,
              spanGaps: false,
            })),
          ],
        }}
        data={data}
      />
    </div>
  );
}
