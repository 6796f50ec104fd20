import type { BodyOf } from '@mcubus/protocol';

export type Hello = BodyOf<'hello'>;

/** Where a device was heard: its bus, and the gateway it answers through (null = directly attached). */
export interface DeviceRoute {
  readonly bus: string;
  readonly via: number | null;
  readonly hops: number;
}

export interface DeviceRecord extends DeviceRoute {
  readonly address: number;
  /** Chip UID as lower-case hex. */
  readonly uid: string;
  readonly hardwareId: string;
  readonly hardwareRev: number;
  /** "major.minor.patch[.build]". */
  readonly firmwareVersion: string;
  readonly bootloaderVersion: string;
  /** DeviceMode value. */
  readonly mode: number;
  readonly name: string | null;
  readonly capabilities: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** The last HELLO as stored: byte strings as hex, so it round-trips through JSON. */
  readonly hello: Record<string, unknown>;
}

/** One field that an upsert changed; from is null for a new device. */
export type DeviceChange =
  | { readonly field: 'firmwareVersion' | 'bootloaderVersion'; readonly from: string; readonly to: string }
  | { readonly field: 'mode'; readonly from: number; readonly to: number }
  | { readonly field: 'uid' | 'hardwareId'; readonly from: string; readonly to: string }
  | { readonly field: 'route'; readonly from: DeviceRoute; readonly to: DeviceRoute }
  | { readonly field: 'name'; readonly from: string | null; readonly to: string | null };

export interface UpsertResult {
  readonly isNew: boolean;
  /** Empty for a new device (nothing to compare with) and for an unchanged one. */
  readonly changes: readonly DeviceChange[];
  readonly record: DeviceRecord;
}

export const versionText = (v: readonly number[]): string => v.join('.');

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** HELLO as JSON text: byte strings become hex so the stored copy is readable and lossless. */
export function helloJson(hello: Hello): string {
  return JSON.stringify(hello, (_key, value: unknown) => {
    if (value instanceof Uint8Array) return hex(value);
    if (typeof value === 'bigint') return value.toString();
    return value;
  });
}

/** Row shape of the devices table. */
export interface DeviceRow {
  address: number;
  uid: string;
  hardware_id: string;
  hardware_rev: number;
  firmware_version: string;
  bootloader_version: string;
  mode: number;
  name: string | null;
  capabilities: number;
  bus: string;
  via: number | null;
  hops: number;
  first_seen: number;
  last_seen: number;
  hello_json: string;
}

export function rowToRecord(row: DeviceRow, lastSeenMs = row.last_seen): DeviceRecord {
  return {
    address: row.address,
    uid: row.uid,
    hardwareId: row.hardware_id,
    hardwareRev: row.hardware_rev,
    firmwareVersion: row.firmware_version,
    bootloaderVersion: row.bootloader_version,
    mode: row.mode,
    name: row.name,
    capabilities: row.capabilities,
    bus: row.bus,
    via: row.via,
    hops: row.hops,
    firstSeenMs: row.first_seen,
    lastSeenMs,
    hello: JSON.parse(row.hello_json) as Record<string, unknown>,
  };
}

/** What an upsert changed between the stored record and the new one. */
export function diffRecords(before: DeviceRecord, after: DeviceRecord): DeviceChange[] {
  const changes: DeviceChange[] = [];
  if (before.uid !== after.uid) changes.push({ field: 'uid', from: before.uid, to: after.uid });
  if (before.hardwareId !== after.hardwareId) {
    changes.push({ field: 'hardwareId', from: before.hardwareId, to: after.hardwareId });
  }
  for (const field of ['firmwareVersion', 'bootloaderVersion'] as const) {
    if (before[field] !== after[field]) changes.push({ field, from: before[field], to: after[field] });
  }
  if (before.mode !== after.mode) changes.push({ field: 'mode', from: before.mode, to: after.mode });
  if (before.bus !== after.bus || before.via !== after.via || before.hops !== after.hops) {
    const route = (r: DeviceRoute): DeviceRoute => ({ bus: r.bus, via: r.via, hops: r.hops });
    changes.push({ field: 'route', from: route(before), to: route(after) });
  }
  if (before.name !== after.name) changes.push({ field: 'name', from: before.name, to: after.name });
  return changes;
}
