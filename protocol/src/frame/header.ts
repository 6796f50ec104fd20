import {
  FLAG_PRIORITY_MASK,
  FLAG_PRIORITY_SHIFT,
  FLAG_RESPONSE,
  FLAG_RETRANSMIT,
  type Priority,
} from './constants.js';

/** The fixed 8-byte header, decoded. `type` is the raw message type code. */
export interface FrameHeader {
  readonly version: number;
  readonly dst: number;
  readonly src: number;
  readonly ttl: number;
  readonly type: number;
  readonly seq: number;
  /** This frame answers the request that carried the same `seq` from `dst`. */
  readonly response: boolean;
  /** A repeat of an earlier frame with the same `seq`: the receiver replays its cached answer. */
  readonly retransmit: boolean;
  readonly priority: Priority;
}

export function flagsByte(h: Pick<FrameHeader, 'response' | 'retransmit' | 'priority'>): number {
  return (
    (h.response ? FLAG_RESPONSE : 0) |
    (h.retransmit ? FLAG_RETRANSMIT : 0) |
    ((h.priority << FLAG_PRIORITY_SHIFT) & FLAG_PRIORITY_MASK)
  );
}

export function parseFlags(flags: number): Pick<FrameHeader, 'response' | 'retransmit' | 'priority'> {
  return {
    response: (flags & FLAG_RESPONSE) !== 0,
    retransmit: (flags & FLAG_RETRANSMIT) !== 0,
    priority: ((flags & FLAG_PRIORITY_MASK) >> FLAG_PRIORITY_SHIFT) as Priority,
  };
}
