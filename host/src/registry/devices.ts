import type Database from 'better-sqlite3';
import {
  type DeviceRecord,
  type DeviceRow,
  diffRecords,
  type Hello,
  helloJson,
  hex,
  rowToRecord,
  type UpsertResult,
  versionText,
} from './device-record.js';

export interface UpsertOptions {
  readonly bus: string;
  /** Gateway address the device answers through; null or absent = directly attached. */
  readonly via?: number | null;
  readonly hops?: number;
  /** Caller's clock, ms since the epoch: the registry never reads the clock, so tests control time. */
  readonly atMs: number;
}

/**
 * The devices table. Last-seen is coalesced: markSeen only records the newest time in memory, and
 * flush() writes all pending times in one transaction. The owner calls flush when enough caller time
 * has passed and on close, so 64 devices × 10 Hz heartbeats cost one transaction per interval
 * instead of 640 row writes a second; a crash loses at most one interval of last-seen times, which
 * only ages a device's liveness and never its identity.
 */
export class DeviceStore {
  private readonly pendingSeen = new Map<number, number>();
  private readonly known = new Set<number>();
  private readonly selectOne: Database.Statement<[number], DeviceRow>;
  private readonly selectAll: Database.Statement<[], DeviceRow>;
  private readonly upsertStmt: Database.Statement<DeviceRow>;
  private readonly touchStmt: Database.Statement<[number, number]>;

  constructor(private readonly db: Database.Database) {
    this.selectOne = db.prepare<[number], DeviceRow>('SELECT * FROM devices WHERE address = ?');
    this.selectAll = db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY address');
    this.upsertStmt = db.prepare<DeviceRow>(`
      INSERT INTO devices (address, uid, hardware_id, hardware_rev, firmware_version, bootloader_version,
        mode, name, capabilities, bus, via, hops, first_seen, last_seen, hello_json)
      VALUES (@address, @uid, @hardware_id, @hardware_rev, @firmware_version, @bootloader_version,
        @mode, @name, @capabilities, @bus, @via, @hops, @first_seen, @last_seen, @hello_json)
      ON CONFLICT (address) DO UPDATE SET uid = excluded.uid, hardware_id = excluded.hardware_id,
        hardware_rev = excluded.hardware_rev, firmware_version = excluded.firmware_version,
        bootloader_version = excluded.bootloader_version, mode = excluded.mode, name = excluded.name,
        capabilities = excluded.capabilities, bus = excluded.bus, via = excluded.via, hops = excluded.hops,
        last_seen = max(last_seen, excluded.last_seen), hello_json = excluded.hello_json`);
    // max(): a late flush must never move last-seen backwards past a newer HELLO.
    this.touchStmt = db.prepare<[number, number]>(
      'UPDATE devices SET last_seen = max(last_seen, ?) WHERE address = ?',
    );
    for (const row of this.selectAll.all()) this.known.add(row.address);
  }

  upsertFromHello(address: number, hello: Hello, opts: UpsertOptions): UpsertResult {
    const beforeRow = this.selectOne.get(address);
    const before = beforeRow ? this.recordOf(beforeRow) : undefined;
    const lastSeen = Math.max(opts.atMs, before?.lastSeenMs ?? opts.atMs);
    const row: DeviceRow = {
      address,
      uid: hex(hello.uid),
      hardware_id: hello.hardwareId,
      hardware_rev: hello.hardwareRev,
      firmware_version: versionText(hello.firmwareVersion),
      bootloader_version: versionText(hello.bootloaderVersion),
      mode: hello.mode,
      name: hello.name ?? null,
      capabilities: hello.capabilities,
      bus: opts.bus,
      via: opts.via ?? null,
      hops: opts.hops ?? 0,
      first_seen: before?.firstSeenMs ?? opts.atMs,
      last_seen: lastSeen,
      hello_json: helloJson(hello),
    };
    this.upsertStmt.run(row);
    this.pendingSeen.delete(address);
    this.known.add(address);
    const record = rowToRecord(row);
    return before
      ? { isNew: false, changes: diffRecords(before, record), record }
      : { isNew: true, changes: [], record };
  }

  /** Records that the device was heard; false if the address has never sent a HELLO. No write. */
  markSeen(address: number, atMs: number): boolean {
    if (!this.known.has(address)) return false;
    const pending = this.pendingSeen.get(address);
    if (pending === undefined || atMs > pending) this.pendingSeen.set(address, atMs);
    return true;
  }

  get pendingCount(): number {
    return this.pendingSeen.size;
  }

  /** Writes pending last-seen times in one transaction; returns how many devices it touched. */
  flush(): number {
    if (this.pendingSeen.size === 0) return 0;
    const entries = [...this.pendingSeen];
    this.db.transaction(() => {
      for (const [address, atMs] of entries) this.touchStmt.run(atMs, address);
    })();
    this.pendingSeen.clear();
    return entries.length;
  }

  get(address: number): DeviceRecord | undefined {
    const row = this.selectOne.get(address);
    return row ? this.recordOf(row) : undefined;
  }

  list(): DeviceRecord[] {
    return this.selectAll.all().map((row) => this.recordOf(row));
  }

  /** Reads see pending last-seen times, so coalescing is invisible to callers. */
  private recordOf(row: DeviceRow): DeviceRecord {
    const pending = this.pendingSeen.get(row.address);
    return rowToRecord(row, pending === undefined ? row.last_seen : Math.max(pending, row.last_seen));
  }
}
