import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { TraceQuery, TraceRecord } from '../trace/trace-record.js';
import type { TraceDraft } from '../trace/tracer.js';
import { type CampaignRecord, CampaignStore } from './campaigns.js';
import type { DeviceRecord, Hello, UpsertResult } from './device-record.js';
import { DeviceStore, type UpsertOptions } from './devices.js';
import { RegistryError, toRegistryError } from './errors.js';
import { Journal, type JournalEntry, type JournalEntryInput, type JournalQuery } from './journal.js';
import { migrate } from './migrations.js';
import {
  type TelemetryInput,
  type TelemetryQuery,
  type TelemetryRecord,
  TelemetryStore,
} from './telemetry.js';
import { TraceStore } from './traces.js';

export const DB_FILE_NAME = 'mcubus.db';

export interface RegistryOptions {
  /**
   * Pending last-seen times are written once this much caller time has passed since the last flush
   * (measured on the atMs values given to markSeen). Default 5000 ms.
   */
  readonly flushIntervalMs?: number;
  /** How long to wait for a lock held by another connection before failing. Default 2000 ms. */
  readonly busyTimeoutMs?: number;
}

/** The daemon's memory across restarts: known devices and the event journal, in <stateDir>/mcubus.db. */
export class Registry {
  private closed = false;
  private lastFlushAtMs: number | undefined;

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
    private readonly devices: DeviceStore,
    private readonly journal: Journal,
    private readonly flushIntervalMs: number,
    private readonly telemetry: TelemetryStore,
    private readonly campaignStore: CampaignStore,
    private readonly traceStore: TraceStore,
  ) {}

  /** Opens (creating if needed) the database and brings its schema up to date. */
  static open(stateDir: string, options: RegistryOptions = {}): Registry {
    const path = join(stateDir, DB_FILE_NAME);
    try {
      mkdirSync(stateDir, { recursive: true });
    } catch (err) {
      throw toRegistryError(err, path, 'creating the state directory');
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: options.busyTimeoutMs ?? 2000 });
      // WAL: readers (CLI queries) never block the daemon's writes, and NORMAL sync is then still
      // crash-safe for the database, losing at most the last commits on power loss.
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') {
        throw new RegistryError(
          'sqlite',
          path,
          `could not enable WAL mode (journal_mode is ${String(mode)})`,
        );
      }
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      migrate(db, path);
      // An empty write transaction: in WAL mode reads never block, so without it a second daemon on
      // the same file, or a read-only file, would only fail at its first write, far from startup.
      db.transaction(() => {}).immediate();
      return new Registry(
        db,
        path,
        new DeviceStore(db),
        new Journal(db),
        options.flushIntervalMs ?? 5000,
        new TelemetryStore(db),
        new CampaignStore(db),
        new TraceStore(db),
      );
    } catch (err) {
      db?.close();
      throw toRegistryError(err, path, 'opening the registry');
    }
  }

  upsertFromHello(address: number, hello: Hello, opts: UpsertOptions): UpsertResult {
    checkAddress(address, this.path);
    if (opts.via != null) checkAddress(opts.via, this.path);
    return this.guard('recording a HELLO', () => this.devices.upsertFromHello(address, hello, opts));
  }

  /**
   * Notes that a device was heard at atMs (caller's clock). Kept in memory and written in one batch
   * once flushIntervalMs of caller time has passed, and on flush()/close(). Returns false for an
   * address that never sent a HELLO (nothing to update).
   */
  markSeen(address: number, atMs: number): boolean {
    return this.guard('recording last-seen', () => {
      const known = this.devices.markSeen(address, atMs);
      this.lastFlushAtMs ??= atMs;
      if (atMs - this.lastFlushAtMs >= this.flushIntervalMs) {
        this.devices.flush();
        this.lastFlushAtMs = atMs;
      }
      return known;
    });
  }

  /** Writes pending last-seen times now; returns how many devices were written. */
  flush(): number {
    return this.guard('flushing last-seen', () => this.devices.flush());
  }

  /** Devices whose last-seen time is waiting for the next flush. */
  get pendingLastSeen(): number {
    return this.devices.pendingCount;
  }

  get(address: number): DeviceRecord | undefined {
    return this.guard('reading a device', () => this.devices.get(address));
  }

  list(): DeviceRecord[] {
    return this.guard('listing devices', () => this.devices.list());
  }

  /** Runs `fn` in one transaction: its writes (a state change and its journal entry) land together or not at all. */
  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  append(entry: JournalEntryInput): number {
    if (entry.device !== undefined) checkAddress(entry.device, this.path);
    return this.guard('appending to the journal', () => this.journal.append(entry));
  }

  query(q: JournalQuery = {}): JournalEntry[] {
    return this.guard('querying the journal', () => this.journal.query(q));
  }

  prune(opts: { readonly olderThanMs: number }): number {
    return this.guard('pruning the journal', () => this.journal.prune(opts));
  }

  appendTelemetry(rows: readonly TelemetryInput[]): void {
    for (const r of rows) checkAddress(r.device, this.path);
    this.guard('storing telemetry', () => this.telemetry.append(rows));
  }

  queryTelemetry(q: TelemetryQuery = {}): TelemetryRecord[] {
    return this.guard('querying telemetry', () => this.telemetry.query(q));
  }

  /** Update campaigns (host/src/update/campaigns.ts runs them). */
  get campaigns(): Pick<CampaignStore, 'create' | 'setItem' | 'setState' | 'get' | 'list'> {
    const store = this.campaignStore;
    const guard =
      <A extends unknown[], R>(what: string, f: (...a: A) => R) =>
      (...a: A) =>
        this.guard(what, () => f(...a));
    return {
      create: guard('creating a campaign', store.create.bind(store)),
      setItem: guard('updating a campaign', store.setItem.bind(store)),
      setState: guard('updating a campaign', store.setState.bind(store)),
      get: guard('reading a campaign', store.get.bind(store)),
      list: guard('listing campaigns', store.list.bind(store)) as (o?: {
        running?: boolean;
        limit?: number;
      }) => CampaignRecord[],
    };
  }

  /** Finished message traces; returns their ids. */
  appendTraces(rows: readonly TraceDraft[]): number[] {
    return this.guard('storing traces', () => this.traceStore.append(rows));
  }

  trace(id: number): TraceRecord | undefined {
    return this.guard('reading a trace', () => this.traceStore.get(id));
  }

  queryTraces(q: TraceQuery = {}): TraceRecord[] {
    return this.guard('querying traces', () => this.traceStore.query(q));
  }

  pruneTraces(olderThanMs: number): number {
    return this.guard('pruning traces', () => this.traceStore.prune(olderThanMs));
  }

  pruneTelemetry(olderThanMs: number): number {
    return this.guard('pruning telemetry', () => this.telemetry.prune(olderThanMs));
  }

  /** Flushes pending last-seen times and closes the file; later calls fail with code "closed". */
  close(): void {
    if (this.closed) return;
    try {
      this.devices.flush();
    } catch (err) {
      throw toRegistryError(err, this.path, 'flushing on close');
    } finally {
      this.closed = true;
      this.db.close();
    }
  }

  private guard<T>(what: string, fn: () => T): T {
    if (this.closed) throw new RegistryError('closed', this.path, `${what}: registry is closed`);
    try {
      return fn();
    } catch (err) {
      throw toRegistryError(err, this.path, what);
    }
  }
}

function checkAddress(address: number, path: string): void {
  if (!Number.isInteger(address) || address < 0 || address > 254) {
    throw new RegistryError('invalid-argument', path, `device address ${address} is not in 0..254`);
  }
}
