import { formatAddress } from '../api/http-util.js';
import type { TraceRecord } from '../trace/trace-record.js';
import { table } from './format.js';

/** `mcubus trace`: one line per message, oldest first. */
export function traceTable(rows: readonly TraceRecord[]): string {
  if (rows.length === 0) return 'no traces';
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  return table(
    ['ID', 'TIME', 'BUS', 'DIR', 'SRC', 'DST', 'SEQ', 'TYPE', 'OUTCOME', 'TRIES', 'RTT', 'HOP', 'CAUSE'],
    sorted.map((t) => [
      String(t.id),
      new Date(t.wallMs).toISOString().slice(11, 23),
      t.bus,
      t.dir,
      t.src === 0xff && t.outcome === 'bad_frame' ? '?' : formatAddress(t.src),
      formatAddress(t.dst),
      String(t.seq),
      t.type,
      t.outcome,
      String(t.attempts),
      t.rttUs === undefined ? '-' : `${(t.rttUs / 1000).toFixed(1)} ms`,
      t.hop ?? '-',
      t.cause ?? '',
    ]),
  );
}

/** `mcubus trace ID`: the message, then its path hop by hop on the host timeline, then each loss. */
export function formatTrace(t: TraceRecord): string {
  const lines = [
    `trace ${t.id}: ${t.type} ${formatAddress(t.src)} → ${formatAddress(t.dst)} seq ${t.seq} on ${t.bus}, ${t.size} bytes`,
    `outcome: ${t.outcome}${t.attempts > 1 ? ` after ${t.attempts} attempts` : ''}${t.rttUs !== undefined ? `, round trip ${(t.rttUs / 1000).toFixed(2)} ms` : ''}`,
  ];
  if (t.hop || t.cause) lines.push(`where: ${t.hop ?? '?'} — ${t.cause ?? ''}`);
  const first = t.hops.find((h) => Number.isFinite(h.atUs))?.atUs ?? 0;
  lines.push('', 'path (host timeline, ms after the first event):');
  for (const h of t.hops) {
    const at = Number.isFinite(h.atUs) ? `+${((h.atUs - first) / 1000).toFixed(3)}` : '(time unknown)';
    const who = h.node === 'host' ? 'host' : formatAddress(h.node);
    lines.push(`  ${at.padStart(12)}  ${who.padEnd(6)} ${h.event.padEnd(9)} ${h.what} on ${h.bus}`);
  }
  if (t.losses.length > 0) {
    lines.push('', 'losses:');
    for (const l of t.losses) lines.push(`  ${l.count} × ${l.direction} on ${l.hop}: ${l.cause}`);
  }
  return lines.join('\n');
}
