import type { EventView } from '@mcubus/host';
import Database from 'better-sqlite3';

/**
 * What must hold of the state database after every kill: SQLite's own integrity check passes, the
 * journal's ids run without a gap (AUTOINCREMENT, nothing pruned during a run: a gap is a lost
 * committed row), and every entry the daemon handed out over its API is still there, unchanged.
 */
export function checkDatabase(
  path: string,
  acknowledged: ReadonlyMap<number, EventView>,
  campaigns: readonly number[] = [],
): string[] {
  const problems: string[] = [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') problems.push(`integrity_check: ${String(integrity)}`);
    const span = db.prepare('SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM events').get() as {
      lo: number;
      hi: number;
      n: number;
    };
    if (span.n > 0 && span.hi - span.lo + 1 !== span.n)
      problems.push(
        `journal ids ${span.lo}..${span.hi} hold ${span.n} rows: ${span.hi - span.lo + 1 - span.n} missing`,
      );
    const row = db.prepare('SELECT kind, message FROM events WHERE id = ?');
    for (const [id, ev] of acknowledged) {
      const r = row.get(id) as { kind: string; message: string } | undefined;
      if (!r) problems.push(`acknowledged journal entry ${id} (${ev.kind}) lost`);
      else if (r.kind !== ev.kind || r.message !== ev.message)
        problems.push(`journal entry ${id} changed: ${ev.kind} "${ev.message}" → ${r.kind} "${r.message}"`);
    }
    const campaign = db.prepare('SELECT state FROM campaigns WHERE id = ?');
    for (const id of campaigns) if (!campaign.get(id)) problems.push(`acknowledged campaign ${id} lost`);
  } finally {
    db.close();
  }
  return problems;
}
