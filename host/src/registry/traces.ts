import type Database from 'better-sqlite3';
import type { TraceQuery, TraceRecord } from '../trace/trace-record.js';
import type { TraceDraft } from '../trace/tracer.js';

interface Row {
  id: number;
  wall_ms: number;
  bus: string;
  dir: string;
  src: number;
  dst: number;
  seq: number;
  type: string;
  outcome: string;
  attempts: number;
  hop: string | null;
  cause: string | null;
  data_json: string;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 100_000;

/**
 * Finished message traces (host/src/trace): the columns `mcubus trace` filters on, and the rest (the
 * hop-by-hop path, the placed losses, size, RTT) as JSON. Pruned by age like telemetry.
 */
export class TraceStore {
  readonly #insertMany: (rows: readonly TraceDraft[]) => number[];
  readonly #prune: Database.Statement<[number]>;

  constructor(private readonly db: Database.Database) {
    const insert = db.prepare<Omit<Row, 'id'>>(`
      INSERT INTO traces (wall_ms, bus, dir, src, dst, seq, type, outcome, attempts, hop, cause, data_json)
      VALUES (@wall_ms, @bus, @dir, @src, @dst, @seq, @type, @outcome, @attempts, @hop, @cause, @data_json)`);
    this.#insertMany = db.transaction((rows: readonly TraceDraft[]) =>
      rows.map((t) =>
        Number(
          insert.run({
            wall_ms: Math.round(t.wallMs),
            bus: t.bus,
            dir: t.dir,
            src: t.src,
            dst: t.dst,
            seq: t.seq,
            type: t.type,
            outcome: t.outcome,
            attempts: t.attempts,
            hop: t.hop ?? null,
            cause: t.cause ?? null,
            data_json: JSON.stringify({
              size: t.size,
              ...(t.rttUs !== undefined ? { rttUs: t.rttUs } : {}),
              losses: t.losses,
              hops: t.hops,
            }),
          }).lastInsertRowid,
        ),
      ),
    );
    this.#prune = db.prepare('DELETE FROM traces WHERE wall_ms < ?');
  }

  /** Stores finished traces in one transaction; returns their ids. */
  append(rows: readonly TraceDraft[]): number[] {
    return rows.length > 0 ? this.#insertMany(rows) : [];
  }

  get(id: number): TraceRecord | undefined {
    const row = this.db.prepare<[number], Row>('SELECT * FROM traces WHERE id = ?').get(id);
    return row ? fromRow(row) : undefined;
  }

  /** Newest first, or oldest first after `afterId` (follow mode). */
  query(q: TraceQuery = {}): TraceRecord[] {
    const where: string[] = [];
    const params: (number | string)[] = [];
    if (q.device !== undefined) {
      where.push('(src = ? OR dst = ?)');
      params.push(q.device, q.device);
    }
    if (q.bus !== undefined) {
      where.push('bus = ?');
      params.push(q.bus);
    }
    if (q.type !== undefined) {
      where.push('type = ?');
      params.push(q.type);
    }
    if (q.outcome !== undefined) {
      where.push('outcome = ?');
      params.push(q.outcome);
    }
    if (q.problems) where.push("(outcome IN ('timeout', 'error', 'bad_frame', 'cancelled') OR attempts > 1)");
    if (q.afterId !== undefined) {
      where.push('id > ?');
      params.push(q.afterId);
    }
    const order = q.afterId === undefined ? 'DESC' : 'ASC';
    params.push(Math.min(MAX_LIMIT, Math.max(0, Math.floor(q.limit ?? DEFAULT_LIMIT))));
    const sql = `SELECT * FROM traces ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${order} LIMIT ?`;
    return this.db
      .prepare<(number | string)[], Row>(sql)
      .all(...params)
      .map(fromRow);
  }

  prune(olderThanMs: number): number {
    return this.#prune.run(olderThanMs).changes;
  }
}

function fromRow(r: Row): TraceRecord {
  const data = JSON.parse(r.data_json) as Pick<TraceRecord, 'size' | 'rttUs' | 'losses' | 'hops'>;
  return {
    id: r.id,
    wallMs: r.wall_ms,
    bus: r.bus,
    dir: r.dir as TraceRecord['dir'],
    src: r.src,
    dst: r.dst,
    seq: r.seq,
    type: r.type,
    size: data.size,
    outcome: r.outcome as TraceRecord['outcome'],
    attempts: r.attempts,
    ...(data.rttUs !== undefined ? { rttUs: data.rttUs } : {}),
    ...(r.hop !== null ? { hop: r.hop } : {}),
    ...(r.cause !== null ? { cause: r.cause } : {}),
    losses: data.losses,
    // JSON has no NaN: a gateway hop whose clock was unknown comes back as null.
    hops: data.hops.map((h) => ({ ...h, atUs: h.atUs ?? Number.NaN })),
  };
}
