import type { FlashConfig } from '../flash/config.js';
import { NS_PER_S, type SimTime } from '../kernel/scheduler.js';

export interface ReceiverConfig {
  /** Largest UPDATE_CHUNK data accepted (≤ 4096, the message limit; a multiple of the write unit). */
  readonly maxChunk: number;
  /** Chunks accepted beyond `cumulative` (RAM buffers for chunks waiting for the flash); ≤ 512. */
  readonly window: number;
  /**
   * The CPU stops while the flash erases and the UART's receive buffer cannot cover the stall: the
   * window offered ends at the first chunk that needs a fresh sector, so that the line is quiet while
   * that erase runs instead of losing the chunks that arrive meanwhile. Default false.
   */
  readonly holdWindowForErase?: boolean;
  /**
   * A session that stored no chunk (while receiving) or got no update request (while waiting for
   * VERIFY or ACTIVATE) for this long is dropped from RAM; its persisted resume point stays, so a
   * later UPDATE_BEGIN of the same image resumes. 1 s..1 h; default 60 s.
   */
  readonly idleTimeoutNs: SimTime;
  /**
   * Slow retrieval: a receiving session must also store this many bytes (or the rest of the image) in
   * every idleTimeoutNs, or it is dropped the same way — a host or gateway that drips a chunk now and
   * then is never idle for long. Default 1 (only idleness counts).
   */
  readonly minProgressBytes?: number;
}

export const DEFAULT_RECEIVER_CONFIG: ReceiverConfig = {
  maxChunk: 1024,
  window: 8,
  idleTimeoutNs: 60 * NS_PER_S,
};

/** The sack bitmap (≤ 64 bytes) names at most 512 chunks beyond the cumulative one. */
export const MAX_WINDOW = 512;

export function receiverConfigProblems(c: ReceiverConfig, writeUnit: number): string[] {
  const problems: string[] = [];
  if (!(c.maxChunk >= writeUnit && c.maxChunk <= 4096 && c.maxChunk % writeUnit === 0)) {
    problems.push(`maxChunk ${c.maxChunk} must be a multiple of ${writeUnit} in ${writeUnit}..4096`);
  }
  if (!(Number.isInteger(c.window) && c.window >= 1 && c.window <= MAX_WINDOW)) {
    problems.push(`window ${c.window} must be 1..${MAX_WINDOW}`);
  }
  if (
    !(Number.isFinite(c.idleTimeoutNs) && c.idleTimeoutNs >= NS_PER_S && c.idleTimeoutNs <= 3600 * NS_PER_S)
  ) {
    problems.push(`idleTimeoutNs ${c.idleTimeoutNs} must be 1 s..1 h`);
  }
  const min = c.minProgressBytes ?? 1;
  if (!(Number.isInteger(min) && min >= 1)) problems.push(`minProgressBytes ${min} must be an integer ≥ 1`);
  return problems;
}

/**
 * UPDATE_STATUS `flashWriteUs`: flash time per maxChunk chunk, programming plus its share of the sector
 * erase. A host keeps window × chunk time on the wire ≥ this to keep the flash busy.
 */
export function flashWriteUs(flash: FlashConfig, maxChunk: number): number {
  const program = (maxChunk / flash.writeUnit) * flash.programNsPerUnit;
  const erase = (flash.eraseNsPerSector * maxChunk) / flash.sectorSize;
  return Math.ceil((program + erase) / 1000);
}
