import { type HealthLane, hexAddress } from '../model.js';

const COLORS: Record<string, string> = {
  up: '#2e9d4f',
  suspect: '#e0a400',
  degraded: '#e0a400',
  safe: '#e0a400',
  bootloader: '#5b8def',
  updating: '#5b8def',
  down: '#d33b3b',
  unreachable: '#a12a2a',
  zombie: '#d33b3b',
};

/** One lane per device: its health states as coloured stretches, resets as red ticks (hover for words). */
export function HealthTimeline(props: { lanes: HealthLane[]; sinceMs: number; nowMs: number }) {
  const { lanes, sinceMs, nowMs } = props;
  const width = 1000;
  const lane = 22;
  const left = 70;
  const span = Math.max(1, nowMs - sinceMs);
  const x = (ms: number) => left + ((ms - sinceMs) / span) * (width - left);
  const height = lanes.length * lane + 18;
  return (
    <svg
      class="timeline"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label="Health of each device over time"
      data-testid="health-timeline"
    >
      {lanes.map((l, i) => (
        <g key={l.device} transform={`translate(0 ${i * lane})`}>
          <text x={4} y={15} class="lane-label">
            {hexAddress(l.device)}
          </text>
          {l.segments.map((s) => (
            <rect
              key={s.fromMs}
              x={x(s.fromMs)}
              y={3}
              width={Math.max(1, x(s.toMs) - x(s.fromMs))}
              height={lane - 6}
              fill={COLORS[s.state] ?? '#999'}
              data-state={s.state}
            >
              <title>{`${s.state} from ${new Date(s.fromMs).toLocaleTimeString()}`}</title>
            </rect>
          ))}
          {l.marks.map((m) => (
            <line
              key={`${m.kind}${m.atMs}`}
              x1={x(m.atMs)}
              x2={x(m.atMs)}
              y1={0}
              y2={lane}
              class={`mark-${m.kind}`}
            >
              <title>{m.message}</title>
            </line>
          ))}
        </g>
      ))}
      <text x={left} y={height - 4} class="axis">
        {new Date(sinceMs).toLocaleTimeString()}
      </text>
      <text x={width - 4} y={height - 4} class="axis" text-anchor="end">
        {new Date(nowMs).toLocaleTimeString()}
      </text>
    </svg>
  );
}
