import type Database from 'better-sqlite3';
import type { TelemetryQuery } from '../api/daemon-api.js';

/**
 * One telemetry sample as stored: the device's raw counter value is kept beside its place on the
 * host timeline, so a better alignment later (or a question about this one) can always go back to
 * what the device said.
 */
export interface TelemetryRecord {
  readonly id: number;
  readonly device: number;
  readonly channel: number;
  /** The device's clock epoch (a new one after each reboot or clock width change). */
  readonly epoch: number;
  /** Raw device counter (µs) as sent. */
  readonly deviceUs: number;
  /** Host wall-clock time (µs since the Unix epoch) the sample was taken at; null = not aligned yet. */
  readonly hostUs: number | null;
  /** Error bound of hostUs (µs). */
  readonly boundUs: number | null;
  readonly value: number;
  /** Host wall-clock ms when the frame arrived. */
  readonly receivedMs: number;
}

export type TelemetryInput = Omit<TelemetryRecord, 'id'>;

/** Query of stored telemetry: the control API's shape, answered straight from SQLite. */
export type { TelemetryQuery } from '../api/daemon-api.js';

interface Row {
  id: number;
  device: number;
  channel: number;
  epoch: number;
  device_us: number;
  host_us: number | null;
  bound_us: number | null;
  value: number;
  received_ms: number;
}

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100_000;

export class TelemetryStore {
  readonly #insert: Database.Statement<Omit<Row, 'id'>>;
  readonly #insertMany: (rows: readonly TelemetryInput[]) => void;
  readonly #prune: Database.Statement<[number]>;

  constructor(private readonly db: Database.Database) {
    this.#insert = db.prepare(`
      INSERT INTO telemetry (device, channel, epoch, device_us, host_us, bound_us, value, received_ms)
      VALUES (@device, @channel, @epoch, @device_us, @host_us, @bound_us, @value, @received_ms)`);
    this.#insertMany = db.transaction((rows: readonly TelemetryInput[]) => {
      for (const r of rows) {
        this.#insert.run({
          device: r.device,
          channel: r.channel,
          epoch: r.epoch,
          device_us: r.deviceUs,
          host_us: r.hostUs === null ? null : Math.round(r.hostUs),
          bound_us: r.boundUs,
          value: r.value,
          received_ms: r.receivedMs,
        });
      }
    });
    this.#prune = db.prepare('DELETE FROM telemetry WHERE received_ms < ?');
  }

  /** One frame's samples, in one transaction. */
  append(rows: readonly TelemetryInput[]): void {
    if (rows.length > 0) this.#insertMany(rows);
  }

  query(q: TelemetryQuery = {}): TelemetryRecord[] {
    const where: string[] = [];
    const params: number[] = [];
    const add = (sql: string, v: number | undefined) => {
      if (v === undefined) return;
      where.push(sql);
      params.push(v);
    };
    add('device = ?', q.device);
    add('channel = ?', q.channel);
    add('id > ?', q.sinceId);
    add('host_us >= ?', q.fromUs);
    add('host_us < ?', q.toUs);
    const order = q.sinceId === undefined ? 'DESC' : 'ASC';
    params.push(Math.min(MAX_LIMIT, Math.max(0, Math.floor(q.limit ?? DEFAULT_LIMIT))));
    const sql = `SELECT * FROM telemetry ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY id ${order} LIMIT ?`;
    return this.db
      .prepare<number[], Row>(sql)
      .all(...params)
      .map((r) => ({
        id: r.id,
        device: r.device,
        channel: r.channel,
        epoch: r.epoch,
        deviceUs: r.device_us,
        hostUs: r.host_us,
        boundUs: r.bound_us,
        value: r.value,
        receivedMs: r.received_ms,
      }));
  }

  prune(olderThanMs: number): number {
    return this.#prune.run(olderThanMs).changes;
  }
}
