import { crc32cFinish, crc32cInit, crc32cUpdate } from '../crc32c.js';
import { type CodedError, err, ok, type Result } from '../result.js';
import {
  CRC_SIZE,
  FLAG_RETRANSMIT,
  HEADER_SIZE,
  MAX_FRAME_SIZE,
  MIN_FRAME_SIZE,
  OFFSET,
  PROTOCOL_VERSION,
} from './constants.js';
import { type FrameHeader, flagsByte, parseFlags } from './header.js';

export type FrameErrorCode = 'truncated' | 'oversize' | 'unknown_version' | 'bad_crc';
export type FrameError = CodedError<FrameErrorCode>;

/** A frame whose header and CRC checked out; the body is still raw CBOR (gateways never parse it). */
export interface RawFrame {
  readonly header: FrameHeader;
  readonly body: Uint8Array;
}

export interface HeaderFields {
  dst: number;
  src: number;
  type: number;
  seq: number;
  ttl?: number;
  response?: boolean;
  retransmit?: boolean;
  priority?: 0 | 1 | 2 | 3;
}

const ZERO = new Uint8Array([0]);

/**
 * CRC-32C over the header with the TTL byte taken as 0, then the body. TTL is the one field a gateway
 * changes, so masking it lets the CRC stay end to end: a gateway forwards without recomputing it.
 */
export function frameCrc(frame: Uint8Array, bodyEnd: number): number {
  let c = crc32cUpdate(crc32cInit, frame, 0, OFFSET.ttl);
  c = crc32cUpdate(c, ZERO);
  c = crc32cUpdate(c, frame, OFFSET.ttl + 1, bodyEnd);
  return crc32cFinish(c);
}

/** Builds a frame around an already-encoded CBOR body. Throws RangeError on out-of-range fields (caller bug). */
export function encodeRawFrame(fields: HeaderFields, body: Uint8Array): Uint8Array {
  checkByte('dst', fields.dst);
  checkByte('src', fields.src);
  checkByte('type', fields.type);
  checkByte('ttl', fields.ttl ?? 0);
  const priority = fields.priority ?? 2;
  if (!Number.isInteger(priority) || priority < 0 || priority > 3)
    throw new RangeError(`priority ${priority} is not 0–3`);
  if (!Number.isInteger(fields.seq) || fields.seq < 0 || fields.seq > 0xffff) {
    throw new RangeError(`seq ${fields.seq} is not a 16-bit unsigned integer`);
  }
  const size = HEADER_SIZE + body.length + CRC_SIZE;
  if (size > MAX_FRAME_SIZE) throw new RangeError(`frame of ${size} bytes exceeds ${MAX_FRAME_SIZE}`);
  const out = new Uint8Array(size);
  out[OFFSET.version] = PROTOCOL_VERSION;
  out[OFFSET.flags] = flagsByte({
    response: fields.response ?? false,
    retransmit: fields.retransmit ?? false,
    priority: fields.priority ?? 2,
  });
  out[OFFSET.dst] = fields.dst;
  out[OFFSET.src] = fields.src;
  out[OFFSET.ttl] = fields.ttl ?? 8;
  out[OFFSET.type] = fields.type;
  out[OFFSET.seq] = fields.seq & 0xff;
  out[OFFSET.seq + 1] = fields.seq >> 8;
  out.set(body, HEADER_SIZE);
  const crc = frameCrc(out, HEADER_SIZE + body.length);
  new DataView(out.buffer).setUint32(HEADER_SIZE + body.length, crc, true);
  return out;
}

function checkByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${name} ${v} is not a byte`);
}

/** Checks length, version and CRC; returns the header and a view of the body. Never throws. */
export function decodeRawFrame(bytes: Uint8Array, maxSize = MAX_FRAME_SIZE): Result<RawFrame, FrameError> {
  if (bytes.length < MIN_FRAME_SIZE) {
    return err({
      code: 'truncated',
      message: `frame of ${bytes.length} bytes is shorter than ${MIN_FRAME_SIZE}`,
    });
  }
  if (bytes.length > maxSize) {
    return err({
      code: 'oversize',
      message: `frame of ${bytes.length} bytes exceeds the limit of ${maxSize}`,
    });
  }
  const version = bytes[OFFSET.version]!;
  if (version !== PROTOCOL_VERSION) {
    return err({
      code: 'unknown_version',
      message: `frame version ${version} is not supported (this is v1)`,
    });
  }
  const bodyEnd = bytes.length - CRC_SIZE;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sent = view.getUint32(bodyEnd, true);
  const computed = frameCrc(bytes, bodyEnd);
  if (sent !== computed) {
    return err({
      code: 'bad_crc',
      message: `CRC-32C mismatch: frame says ${hex32(sent)}, bytes give ${hex32(computed)}`,
    });
  }
  return ok({ header: readHeader(bytes), body: bytes.subarray(HEADER_SIZE, bodyEnd) });
}

/** Reads the header without checking anything: for tracing and for forwarding decisions. */
export function readHeader(bytes: Uint8Array): FrameHeader {
  return {
    version: bytes[OFFSET.version]!,
    dst: bytes[OFFSET.dst]!,
    src: bytes[OFFSET.src]!,
    ttl: bytes[OFFSET.ttl]!,
    type: bytes[OFFSET.type]!,
    seq: bytes[OFFSET.seq]! | (bytes[OFFSET.seq + 1]! << 8),
    ...parseFlags(bytes[OFFSET.flags]!),
  };
}

/**
 * A copy with the RETRANSMIT flag set and the CRC recomputed: how a node sends a cached answer again
 * (spec §5), so that the requester learns its earlier request did arrive and the answer was lost.
 */
export function withRetransmitFlag(frame: Uint8Array): Uint8Array {
  const out = frame.slice();
  out[OFFSET.flags] = out[OFFSET.flags]! | FLAG_RETRANSMIT;
  const bodyEnd = out.length - CRC_SIZE;
  new DataView(out.buffer).setUint32(bodyEnd, frameCrc(out, bodyEnd), true);
  return out;
}

/** Returns a copy with the TTL replaced: what a gateway forwards. The CRC stays valid (TTL is masked). */
export function withTtl(frame: Uint8Array, ttl: number): Uint8Array {
  checkByte('ttl', ttl);
  const out = frame.slice();
  out[OFFSET.ttl] = ttl;
  return out;
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
