import type Database from 'better-sqlite3';
import { RegistryError, toRegistryError } from './errors.js';

/**
 * Ordered schema steps; step i brings the file from version i to i + 1 (PRAGMA user_version).
 * Steps are append-only: a released step is never edited, a change is a new step, so any older
 * file can be walked forward.
 */
export const MIGRATIONS: readonly ((db: Database.Database) => void)[] = [
  // v1: devices and the event journal.
  (db) => {
    db.exec(`
      CREATE TABLE devices (
        address INTEGER PRIMARY KEY CHECK (address BETWEEN 0 AND 254),
        uid TEXT NOT NULL,
        hardware_id TEXT NOT NULL,
        hardware_rev INTEGER NOT NULL,
        firmware_version TEXT NOT NULL,
        bootloader_version TEXT NOT NULL,
        mode INTEGER NOT NULL,
        name TEXT,
        capabilities INTEGER NOT NULL,
        bus TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        hello_json TEXT NOT NULL
      );
      -- AUTOINCREMENT so ids are never reused after prune: followers resume with sinceId.
      CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        device INTEGER,
        bus TEXT,
        severity TEXT NOT NULL,
        message TEXT NOT NULL,
        data_json TEXT
      );
      CREATE INDEX events_at ON events (at_ms);
    `);
  },
  // v2: routes through gateways, and per-device journal look-ups.
  (db) => {
    db.exec(`
      ALTER TABLE devices ADD COLUMN via INTEGER;
      ALTER TABLE devices ADD COLUMN hops INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX events_device ON events (device, id);
    `);
  },
  // v3: telemetry with the device's raw timestamp and its place on the host timeline.
  (db) => {
    db.exec(`
      CREATE TABLE telemetry (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device INTEGER NOT NULL,
        channel INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        device_us INTEGER NOT NULL,
        host_us INTEGER,
        bound_us REAL,
        value REAL NOT NULL,
        received_ms INTEGER NOT NULL
      );
      CREATE INDEX telemetry_device ON telemetry (device, channel, id);
      CREATE INDEX telemetry_received ON telemetry (received_ms);
    `);
  },
  // v4: update campaigns, so that a daemon restart resumes them.
  (db) => {
    db.exec(`
      CREATE TABLE campaigns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_ms INTEGER NOT NULL,
        state TEXT NOT NULL,
        options_json TEXT NOT NULL
      );
      CREATE TABLE campaign_items (
        campaign INTEGER NOT NULL REFERENCES campaigns (id),
        step INTEGER NOT NULL,
        device INTEGER NOT NULL,
        bus TEXT NOT NULL,
        image_path TEXT NOT NULL,
        manifest_path TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (campaign, device)
      );
    `);
  },
  // v5: message traces (host/src/trace), so that a loss can be looked into after the fact.
  (db) => {
    db.exec(`
      CREATE TABLE traces (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        wall_ms INTEGER NOT NULL,
        bus TEXT NOT NULL,
        dir TEXT NOT NULL,
        src INTEGER NOT NULL,
        dst INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        outcome TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        hop TEXT,
        cause TEXT,
        data_json TEXT NOT NULL
      );
      CREATE INDEX traces_wall ON traces (wall_ms);
      CREATE INDEX traces_src ON traces (src, id);
      CREATE INDEX traces_dst ON traces (dst, id);
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION, one transaction per step; refuses files from a newer mcubus. */
export function migrate(db: Database.Database, path: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new RegistryError(
      'schema-too-new',
      path,
      `schema version ${current} is newer than this mcubus knows (${SCHEMA_VERSION}); upgrade mcubus or use another state directory`,
    );
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    const step = MIGRATIONS[v];
    if (step === undefined) break;
    try {
      db.transaction(() => {
        step(db);
        // user_version lives in the file header, so it commits or rolls back with the step.
        db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
      if (code.startsWith('SQLITE_BUSY'))
        throw toRegistryError(err, path, `migrating to schema version ${v + 1}`);
      throw new RegistryError(
        'migration-failed',
        path,
        `migration to schema version ${v + 1} failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }
}
