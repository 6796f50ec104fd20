import type { Manifest, Message } from '@mcubus/protocol';
import type { FlashRegion, SlotIndex } from '../flash/layout.js';
import type { SimTime } from '../kernel/scheduler.js';
import type { ChunkWriter } from './chunk-writer.js';

/**
 * A session's lifecycle (UpdateState on the wire in brackets): receiving (1) → received (2) →
 * verifying → verified (3) → activating → activated (5); failed (4) from VERIFY or a flash error.
 */
export type SessionState =
  | 'receiving'
  | 'received'
  | 'verifying'
  | 'verified'
  | 'failed'
  | 'activating'
  | 'activated';

/** RAM state of the transfer in progress; everything that must survive a reset is in the boot state. */
export interface Session {
  id: number;
  readonly kind: 0 | 1;
  readonly slot: SlotIndex;
  readonly region: FlashRegion;
  readonly size: number;
  readonly sha256: Uint8Array;
  readonly chunkSize: number;
  readonly envelope: Uint8Array;
  readonly manifest: Manifest;
  readonly writer: ChunkWriter;
  state: SessionState;
  /** Every image byte below this is programmed (a multiple of chunkSize, or size). */
  cumulative: number;
  /** Chunk indexes beyond cumulative that are programmed. */
  readonly stored: Set<number>;
  /** Chunk indexes whose program is in progress. */
  readonly writing: Set<number>;
  storedSinceAck: number;
  /** A chunk whose write began with a sector erase that has not finished (holdWindowForErase). */
  erasingChunk: number | null;
  /** A gap was reported in an ACK and has not closed since (report a new gap once). */
  gapReported: boolean;
  /** Resume point in the boot state. */
  persisted: number;
  persisting: boolean;
  persistAgain: boolean;
  /** ErrorCode when failed. */
  error: number | null;
  /**
   * Last sign of life (idle timeout): while receiving, the last chunk stored (or BEGIN taking the
   * session over); once received, the last update request.
   */
  lastActivityNs: SimTime;
  /** Slow-retrieval window (ReceiverConfig.minProgressBytes): since when, and `cumulative` then. */
  windowFromNs: SimTime;
  windowFromBytes: number;
  /** Where UPDATE_ACKs go (the event sender of the latest chunk). */
  sendEvent: ((m: Message) => void) | null;
}

export const WIRE_STATE: Record<SessionState, number> = {
  receiving: 1,
  received: 2,
  verifying: 2,
  verified: 3,
  failed: 4,
  activating: 3,
  activated: 5,
};
