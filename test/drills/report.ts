import type { DrillResult, SideResult } from './run.js';

/** The drills as a Markdown table (what `npm run drills` prints and docs/reliability.md records). */
export function formatDrills(results: readonly DrillResult[]): string {
  const side = (s: SideResult) =>
    `${s.outcome} \`${s.code}\` after ${Number.isNaN(s.afterS) ? '—' : `${s.afterS.toFixed(1)} s`}${
      s.boundS !== undefined ? ` (bound ${s.boundS} s)` : ''
    }`;
  const lines = [
    '| Threat | Host | Device | Device-side update |',
    '|---|---|---|---|',
    ...results.map((r) => `| ${r.threat} | ${side(r.host)} | ${side(r.device)} | ${r.device.note ?? ''} |`),
  ];
  const missed = results.flatMap((r) =>
    [
      ['host', r.host],
      ['device', r.device],
    ]
      .filter(([, s]) => (s as SideResult).outcome === 'missed')
      .map(([w]) => `${r.threat} (${w as string})`),
  );
  lines.push('', missed.length === 0 ? 'missed: 0' : `missed: ${missed.length}: ${missed.join(', ')}`);
  return lines.join('\n');
}

/** Each drill's journal entries, for the record. */
export function formatEvents(results: readonly DrillResult[]): string {
  return results.map((r) => `${r.threat}\n  host:   ${r.host.event}\n  device: ${r.device.event}`).join('\n');
}
