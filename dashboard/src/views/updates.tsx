import { formatBytes, hexAddress, updateFraction } from '../model.js';
import type { UpdateStatusView } from '../types.js';

/** Updates under way and each device's last finished one, with the acknowledged share of the image. */
export function Updates({ updates }: { updates: UpdateStatusView[] }) {
  if (updates.length === 0) return <p class="empty">No updates.</p>;
  return (
    <div class="updates" data-testid="updates">
      {updates.map((u) => {
        const pct = Math.round(updateFraction(u) * 100);
        return (
          <div key={u.device} class={`update phase-${u.phase}`} data-device={u.device} data-phase={u.phase}>
            <div class="update-head">
              <span class="mono">{hexAddress(u.device)}</span> → {u.kind} {u.version}: <b>{u.phase}</b>{' '}
              <span class="detail">{u.detail}</span>
            </div>
            <progress max={100} value={pct} data-percent={pct} />
            <span class="update-figures">
              {pct} % · {formatBytes(u.acked)} / {formatBytes(u.size)}
              {u.rateBps !== null ? ` · ${formatBytes(Math.round(u.rateBps))}/s` : ''}
              {u.etaS !== null && u.phase === 'transfer' ? ` · ${u.etaS.toFixed(0)} s left` : ''}
            </span>
          </div>
        );
      })}
    </div>
  );
}
