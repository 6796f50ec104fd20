import { formatUs, hexAddress } from '../model.js';
import type { TraceRecord } from '../types.js';

function who(node: 'host' | number): string {
  return node === 'host' ? 'host' : hexAddress(node);
}

/** The newest message traces; choosing one shows its path hop by hop on the host timeline. */
export function Traces(props: {
  traces: TraceRecord[];
  selected: TraceRecord | undefined;
  onSelect: (id: number) => void;
}) {
  const { traces, selected, onSelect } = props;
  return (
    <div class="traces">
      <table data-testid="trace-list">
        <thead>
          <tr>
            <th>ID</th>
            <th>Time</th>
            <th>Type</th>
            <th>Path</th>
            <th>Outcome</th>
            <th>Tries</th>
            <th>RTT</th>
            <th>Lost at</th>
          </tr>
        </thead>
        <tbody>
          {traces.map((t) => (
            <tr
              key={t.id}
              class={`trace outcome-${t.outcome}${selected?.id === t.id ? ' selected' : ''}`}
              data-trace={t.id}
              onClick={() => onSelect(t.id)}
            >
              <td class="mono">{t.id}</td>
              <td>{new Date(t.wallMs).toLocaleTimeString()}</td>
              <td>{t.type}</td>
              <td class="mono">
                {hexAddress(t.src)}→{hexAddress(t.dst)} ({t.bus})
              </td>
              <td>{t.outcome}</td>
              <td>{t.attempts}</td>
              <td>{t.rttUs !== undefined ? formatUs(t.rttUs) : ''}</td>
              <td>{t.hop ? `${t.hop}: ${t.cause ?? ''}` : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {selected ? <TraceDetail trace={selected} /> : <p class="empty">Choose a trace to see its hops.</p>}
    </div>
  );
}

function TraceDetail({ trace }: { trace: TraceRecord }) {
  const t0 = trace.hops[0]?.atUs ?? 0;
  return (
    <div class="trace-detail" data-testid="trace-detail">
      <h3>
        Trace {trace.id}: {trace.type} {hexAddress(trace.src)}→{hexAddress(trace.dst)}, {trace.outcome}
      </h3>
      <ol class="hops">
        {trace.hops.map((h, i) => (
          <li key={`${i}-${h.atUs}`} class={`hop hop-${h.event}`}>
            <span class="mono">+{formatUs(h.atUs - t0)}</span> <b>{who(h.node)}</b> {h.event} {h.what} on{' '}
            {h.bus}
          </li>
        ))}
      </ol>
      {trace.losses.length > 0 ? (
        <ul class="losses">
          {trace.losses.map((l) => (
            <li key={`${l.hop}-${l.direction}`}>
              {l.count}× {l.direction} lost at {l.hop}: {l.cause}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
