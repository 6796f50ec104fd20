import { crc32c } from '@mcubus/protocol';
import type { SlotIndex } from '../flash/layout.js';

/** An image transfer in progress: what UPDATE_BEGIN resumes from after a reset or power cut. */
export interface TransferProgress {
  readonly kind: 0 | 1;
  readonly slot: SlotIndex;
  readonly size: number;
  /** Contiguous image bytes stored and known good (a resume point: sector and chunk aligned, or size). */
  readonly received: number;
  readonly sha256: Uint8Array;
}

/**
 * Everything the bootloader and the update receiver must remember across power cuts. Each record is a
 * complete snapshot, so recovery is "take the valid record with the highest sequence number": no replay.
 */
export interface BootState {
  readonly seq: number;
  /** Application slot that has proven itself (confirmed), or null before the first confirmation. */
  readonly confirmed: SlotIndex | null;
  /** Application slot to test-boot, or null. */
  readonly pending: SlotIndex | null;
  /** The pending image was started once; if it is not confirmed by the next boot, revert. */
  readonly testAttempted: boolean;
  /** Anti-rollback floor for applications: raised when an image is confirmed. */
  readonly minSecurityCounter: number;
  readonly progress: TransferProgress | null;
}

export type BootStatePatch = Partial<Omit<BootState, 'seq'>>;

export const EMPTY_BOOT_STATE: BootState = {
  seq: 0,
  confirmed: null,
  pending: null,
  testAttempted: false,
  minSecurityCounter: 0,
  progress: null,
};

/**
 * Record layout (little endian), 64 bytes = 8 double words, written by one program operation:
 *
 *   0   4  magic "MBS1"
 *   4   4  seq
 *   8   1  confirmed slot (0, 1; 0xFF none)
 *   9   1  pending slot (0, 1; 0xFF none)
 *   10  1  flags: bit 0 test boot attempted
 *   11  1  progress kind (0 app, 1 bootloader; 0xFF no transfer)
 *   12  4  minimum security counter
 *   16  1  progress slot
 *   17  3  reserved, 0
 *   20  4  progress size
 *   24  4  progress received
 *   28  32 progress SHA-256
 *   60  4  CRC-32C of bytes 0..59
 */
export const RECORD_BYTES = 64;
export const RECORD_MAGIC = Uint8Array.from([0x4d, 0x42, 0x53, 0x31]); // "MBS1"
const NONE = 0xff;

export function encodeBootRecord(s: BootState): Uint8Array {
  const out = new Uint8Array(RECORD_BYTES);
  const v = new DataView(out.buffer);
  out.set(RECORD_MAGIC, 0);
  v.setUint32(4, s.seq >>> 0, true);
  out[8] = s.confirmed ?? NONE;
  out[9] = s.pending ?? NONE;
  out[10] = s.testAttempted ? 1 : 0;
  out[11] = s.progress?.kind ?? NONE;
  v.setUint32(12, s.minSecurityCounter >>> 0, true);
  out[16] = s.progress?.slot ?? NONE;
  if (s.progress) {
    v.setUint32(20, s.progress.size, true);
    v.setUint32(24, s.progress.received, true);
    out.set(s.progress.sha256, 28);
  }
  v.setUint32(60, crc32c(out.subarray(0, 60)), true);
  return out;
}

export type RecordProblem = 'blank' | 'bad_magic' | 'bad_crc' | 'bad_field';

export function decodeBootRecord(
  bytes: Uint8Array,
): { ok: true; state: BootState } | { ok: false; problem: RecordProblem } {
  if (bytes.every((b) => b === 0xff)) return { ok: false, problem: 'blank' };
  for (let i = 0; i < 4; i++) if (bytes[i] !== RECORD_MAGIC[i]) return { ok: false, problem: 'bad_magic' };
  const v = new DataView(bytes.buffer, bytes.byteOffset, RECORD_BYTES);
  if (v.getUint32(60, true) !== crc32c(bytes.subarray(0, 60))) return { ok: false, problem: 'bad_crc' };
  const confirmed = slotOrNone(bytes[8]!);
  const pending = slotOrNone(bytes[9]!);
  const kind = bytes[11]!;
  const progressSlot = slotOrNone(bytes[16]!);
  if (confirmed === undefined || pending === undefined || progressSlot === undefined) {
    return { ok: false, problem: 'bad_field' };
  }
  let progress: TransferProgress | null = null;
  if (kind !== NONE) {
    if ((kind !== 0 && kind !== 1) || progressSlot === null) return { ok: false, problem: 'bad_field' };
    progress = {
      kind,
      slot: progressSlot,
      size: v.getUint32(20, true),
      received: v.getUint32(24, true),
      sha256: bytes.slice(28, 60),
    };
  }
  return {
    ok: true,
    state: {
      seq: v.getUint32(4, true),
      confirmed,
      pending,
      testAttempted: (bytes[10]! & 1) !== 0,
      minSecurityCounter: v.getUint32(12, true),
      progress,
    },
  };
}

/** undefined = not a valid value. */
function slotOrNone(b: number): SlotIndex | null | undefined {
  if (b === NONE) return null;
  if (b === 0 || b === 1) return b;
  return undefined;
}

/** Same contents, ignoring the sequence number (a write that would change nothing is skipped). */
export function sameBootState(a: BootState, b: BootState): boolean {
  if (
    a.confirmed !== b.confirmed ||
    a.pending !== b.pending ||
    a.testAttempted !== b.testAttempted ||
    a.minSecurityCounter !== b.minSecurityCounter
  ) {
    return false;
  }
  const p = a.progress;
  const q = b.progress;
  if (p === null || q === null) return p === q;
  if (p.kind !== q.kind || p.slot !== q.slot || p.size !== q.size || p.received !== q.received) return false;
  return p.sha256.every((x, i) => x === q.sha256[i]);
}
