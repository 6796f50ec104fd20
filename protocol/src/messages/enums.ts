/**
 * Enumerations carried as unsigned integers. Decoders keep values they do not know (a newer peer may
 * send them) and show them as "unknown(N)"; they are never a decode error.
 */
export const DeviceMode = { bootloader: 0, app: 1, updating: 2, safe: 3 } as const;
export const HealthLevel = { nominal: 0, advisory: 1, caution: 2, warning: 3 } as const;
export const ResetReason = {
  unknown: 0,
  power_on: 1,
  external_pin: 2,
  software: 3,
  watchdog: 4,
  brownout: 5,
  fault: 6,
  update: 7,
  lockup: 8,
} as const;
export const ImageKind = { app: 0, bootloader: 1 } as const;
export const UpdateState = {
  idle: 0,
  receiving: 1,
  received: 2,
  verified: 3,
  failed: 4,
  activated: 5,
} as const;
export const LogLevel = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 } as const;
export const ResetTarget = { app: 0, bootloader: 1, safe: 2 } as const;
export const RouteState = { unknown: 0, up: 1, down: 2 } as const;
/** What a forwarding node did with a frame (TRACE_RECORDS). */
export const ForwardOutcome = {
  forwarded: 0,
  no_route: 1,
  ttl_expired: 2,
  too_large: 3,
  tx_failed: 4,
  queue_full: 5,
} as const;

/** Capability bits announced in hello. */
export const Capability = {
  time_sync: 1 << 0,
  update: 1 << 1,
  gateway: 1 << 2,
  telemetry: 1 << 3,
  log: 1 << 4,
  bootloader_update: 1 << 5,
  time_followup: 1 << 6,
} as const;

/** Slot flag bits in hello. */
export const SlotFlag = { active: 1 << 0, confirmed: 1 << 1, pending_test: 1 << 2, valid: 1 << 3 } as const;

/** Error counter ids in heartbeat. */
export const ErrorCounter = {
  crc: 1,
  framing: 2,
  overrun: 3,
  isotp: 4,
  flash: 5,
  forward_drop: 6,
  queue_drop: 7,
  modbus: 8,
} as const;

/** Codes carried by the ERROR message (and by UPDATE_STATUS/ABORT reasons). 0 is never sent. */
export const ErrorCode = {
  unknown_type: 1,
  bad_request: 2,
  unsupported_version: 3,
  busy: 4,
  no_route: 5,
  ttl_expired: 6,
  timeout: 7,
  too_large: 8,
  bad_state: 9,
  bad_session: 10,
  bad_offset: 11,
  hash_mismatch: 12,
  signature_invalid: 13,
  hardware_mismatch: 14,
  downgrade_rejected: 15,
  flash_error: 16,
  no_space: 17,
  not_supported: 18,
  internal: 19,
  aborted: 20,
  bad_crc: 21,
} as const;

export type EnumTable = Readonly<Record<string, number>>;

/** Name of an enum value, or "unknown(N)" for a value this version does not know. */
export function enumName(table: EnumTable, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return `unknown(${value})`;
}

/** Names of the bits set in a bitmask (unknown bits as "bitN"). */
export function bitNames(table: EnumTable, mask: number): string[] {
  const out: string[] = [];
  let rest = mask;
  for (const [name, bit] of Object.entries(table)) {
    if (mask & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  for (let b = 0; b < 32; b++) if (rest & (1 << b)) out.push(`bit${b}`);
  return out;
}
