/** Wire constants of the mcubus v1 frame. See docs/protocol.md §Frame. */
export const PROTOCOL_VERSION = 1;
export const HEADER_SIZE = 8;
export const CRC_SIZE = 4;
/** Smallest valid frame: header + one-byte CBOR body (an empty map, 0xA0) + CRC. */
export const MIN_FRAME_SIZE = HEADER_SIZE + 1 + CRC_SIZE;
/** Absolute v1 limit; links and devices announce smaller limits of their own. */
export const MAX_FRAME_SIZE = 4096;

export const ADDRESS_HOST = 0x00;
export const ADDRESS_BROADCAST = 0xff;
export const DEFAULT_TTL = 8;

/** Byte offsets inside the header. */
export const OFFSET = { version: 0, flags: 1, dst: 2, src: 3, ttl: 4, type: 5, seq: 6 } as const;

/** Flag bits (byte 1). Bits 4–7 are reserved: sent as 0, ignored on receipt. */
export const FLAG_RESPONSE = 0x01;
export const FLAG_RETRANSMIT = 0x02;
export const FLAG_PRIORITY_SHIFT = 2;
export const FLAG_PRIORITY_MASK = 0x0c;
export const FLAG_RESERVED_MASK = 0xf0;

/** 0 = urgent (time sync, heartbeat) … 3 = bulk (update chunks). Maps to CAN priority. */
export type Priority = 0 | 1 | 2 | 3;
export const PRIORITY_NORMAL: Priority = 2;
