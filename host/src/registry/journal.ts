import type Database from 'better-sqlite3';

export type Severity = 'debug' | 'info' | 'warning' | 'error';

export interface JournalEntryInput {
  /** Caller's clock, ms since the epoch. */
  readonly atMs: number;
  /** Short machine-readable kind, e.g. "device.new", "update.done". */
  readonly kind: string;
  readonly device?: number;
  readonly bus?: string;
  readonly severity: Severity;
  readonly message: string;
  /** Any JSON-serialisable detail. */
  readonly data?: unknown;
}

export interface JournalEntry {
  readonly id: number;
  readonly atMs: number;
  readonly kind: string;
  readonly device: number | null;
  readonly bus: string | null;
  readonly severity: Severity;
  readonly message: string;
  readonly data: unknown;
}

export interface JournalQuery {
  /** Follow mode: entries with a larger id, oldest first. Without it: the newest entries, newest first. */
  readonly sinceId?: number;
  readonly device?: number;
  readonly kind?: string;
  /** At most this many entries (default 100). */
  readonly limit?: number;
}

interface EventRow {
  id: number;
  at_ms: number;
  kind: string;
  device: number | null;
  bus: string | null;
  severity: Severity;
  message: string;
  data_json: string | null;
}

const DEFAULT_LIMIT = 100;

/** Append-only event journal: rows are only ever inserted, and removed only by age in prune(). */
export class Journal {
  private readonly insertStmt: Database.Statement<Omit<EventRow, 'id'>>;
  private readonly pruneStmt: Database.Statement<[number]>;

  constructor(private readonly db: Database.Database) {
    this.insertStmt = db.prepare(`
      INSERT INTO events (at_ms, kind, device, bus, severity, message, data_json)
      VALUES (@at_ms, @kind, @device, @bus, @severity, @message, @data_json)`);
    this.pruneStmt = db.prepare('DELETE FROM events WHERE at_ms < ?');
  }

  append(entry: JournalEntryInput): number {
    const info = this.insertStmt.run({
      at_ms: entry.atMs,
      kind: entry.kind,
      device: entry.device ?? null,
      bus: entry.bus ?? null,
      severity: entry.severity,
      message: entry.message,
      data_json: entry.data === undefined ? null : JSON.stringify(entry.data),
    });
    return Number(info.lastInsertRowid);
  }

  query(q: JournalQuery = {}): JournalEntry[] {
    const where: string[] = [];
    const params: (number | string)[] = [];
    if (q.sinceId !== undefined) {
      where.push('id > ?');
      params.push(q.sinceId);
    }
    if (q.device !== undefined) {
      where.push('device = ?');
      params.push(q.device);
    }
    if (q.kind !== undefined) {
      where.push('kind = ?');
      params.push(q.kind);
    }
    const order = q.sinceId === undefined ? 'DESC' : 'ASC';
    const sql = `SELECT * FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id ${order} LIMIT ?`;
    params.push(Math.max(0, Math.floor(q.limit ?? DEFAULT_LIMIT)));
    return this.db
      .prepare<(number | string)[], EventRow>(sql)
      .all(...params)
      .map((r) => ({
        id: r.id,
        atMs: r.at_ms,
        kind: r.kind,
        device: r.device,
        bus: r.bus,
        severity: r.severity,
        message: r.message,
        data: r.data_json === null ? undefined : (JSON.parse(r.data_json) as unknown),
      }));
  }

  /** Deletes entries older than olderThanMs (caller's clock); returns how many. Ids are never reused. */
  prune(opts: { readonly olderThanMs: number }): number {
    return this.pruneStmt.run(opts.olderThanMs).changes;
  }
}
