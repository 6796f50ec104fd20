import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistryError } from '../src/registry/errors.js';
import { SCHEMA_VERSION } from '../src/registry/migrations.js';
import { Registry } from '../src/registry/registry.js';
import { makeHello, tempStateDir } from './registry-helpers.js';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempStateDir());
});
afterEach(() => cleanup());

const dbPath = () => join(dir, 'mcubus.db');

function openError(stateDir: string): RegistryError {
  try {
    Registry.open(stateDir).close();
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error('Registry.open succeeded');
}

describe('Registry.open', () => {
  it('creates a missing state directory and a WAL database at the latest schema', () => {
    const stateDir = join(dir, 'nested', 'state');
    const reg = Registry.open(stateDir);
    reg.close();
    expect(existsSync(join(stateDir, 'mcubus.db'))).toBe(true);
    const raw = new Database(join(stateDir, 'mcubus.db'), { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBe(5);
    expect(SCHEMA_VERSION).toBe(5);
    raw.close();
  });

  it('migrates a v1 database by hand, keeping its rows', () => {
    const raw = new Database(dbPath());
    raw.exec(`
      CREATE TABLE devices (address INTEGER PRIMARY KEY, uid TEXT NOT NULL, hardware_id TEXT NOT NULL,
        hardware_rev INTEGER NOT NULL, firmware_version TEXT NOT NULL, bootloader_version TEXT NOT NULL,
        mode INTEGER NOT NULL, name TEXT, capabilities INTEGER NOT NULL, bus TEXT NOT NULL,
        first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, hello_json TEXT NOT NULL);
      CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,
        device INTEGER, bus TEXT, severity TEXT NOT NULL, message TEXT NOT NULL, data_json TEXT);
      INSERT INTO devices VALUES (12, 'aabb', 'hw', 1, '2.0.0', '1.0.0', 1, NULL, 0, 'uart1', 10, 20, '{}');
      INSERT INTO events (at_ms, kind, device, severity, message) VALUES (15, 'device.new', 12, 'info', 'hi');
      PRAGMA user_version = 1;
    `);
    raw.close();
    const reg = Registry.open(dir);
    expect(reg.get(12)).toMatchObject({
      uid: 'aabb',
      firmwareVersion: '2.0.0',
      bus: 'uart1',
      via: null,
      hops: 0,
    });
    expect(reg.query().map((e) => e.message)).toEqual(['hi']);
    reg.close();
    const check = new Database(dbPath(), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(5);
    check.close();
  });

  it('refuses a database from a newer mcubus, and leaves it untouched', () => {
    const raw = new Database(dbPath());
    raw.pragma('user_version = 99');
    raw.close();
    const err = openError(dir);
    expect(err.code).toBe('schema-too-new');
    expect(err.path).toBe(dbPath());
    expect(err.message).toContain('schema version 99 is newer');
    const check = new Database(dbPath(), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(99);
    check.close();
  });

  it('names the path of a corrupt file', () => {
    writeFileSync(dbPath(), Buffer.alloc(8192, 0x5a));
    const err = openError(dir);
    expect(err.code).toBe('corrupt');
    expect(err.message).toContain(dbPath());
  });

  it('names the path when the state directory cannot be created', () => {
    writeFileSync(join(dir, 'a-file'), 'x');
    const err = openError(join(dir, 'a-file', 'state'));
    expect(err.code).toBe('unwritable');
    expect(err.path).toBe(join(dir, 'a-file', 'state', 'mcubus.db'));
  });

  // root ignores permission bits, so this only means something for an ordinary user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot)
    console.warn(
      'skipped: the read-only directory test means nothing as root (root ignores permission bits)',
    );
  it.skipIf(asRoot)('names the path when the directory is read-only', () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o500);
    try {
      expect(openError(ro).code).toBe('unwritable');
    } finally {
      chmodSync(ro, 0o700);
    }
  });

  it('reports a database locked by another process', () => {
    Registry.open(dir).close();
    const other = new Database(dbPath());
    other.exec('BEGIN EXCLUSIVE');
    try {
      const err = (() => {
        try {
          Registry.open(dir, { busyTimeoutMs: 50 }).close();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe('locked');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });

  it('keeps devices and journal across close and reopen', () => {
    const reg = Registry.open(dir);
    reg.upsertFromHello(1, makeHello({ name: 'gw' }), { bus: 'uart0', atMs: 100 });
    reg.upsertFromHello(40, makeHello(), { bus: 'can0', via: 1, hops: 1, atMs: 200 });
    const id = reg.append({
      atMs: 200,
      kind: 'device.new',
      device: 40,
      bus: 'can0',
      severity: 'info',
      message: 'new',
    });
    reg.close();
    expect(() => reg.list()).toThrow(expect.objectContaining({ code: 'closed' }));
    const again = Registry.open(dir);
    expect(again.list().map((d) => [d.address, d.name, d.via])).toEqual([
      [1, 'gw', null],
      [40, 'pump-ctl', 1],
    ]);
    expect(again.query()).toEqual([
      {
        id,
        atMs: 200,
        kind: 'device.new',
        device: 40,
        bus: 'can0',
        severity: 'info',
        message: 'new',
        data: undefined,
      },
    ]);
    again.close();
  });
});
