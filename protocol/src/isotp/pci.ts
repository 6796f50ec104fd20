import { type CodedError, codedError, err, ok, type Result } from '../result.js';
import { CLASSIC_MAX_LENGTH, isValidFdLength } from './can-frame.js';
import { decodeStMin } from './stmin.js';

/**
 * Protocol control information: the first byte(s) of every ISO-TP CAN frame. Pure encode/decode of one
 * CAN payload; the state machine decides what to send and whether a frame fits the transfer in hand.
 *
 *   SF  0x0N data…                  N = 1..7 bytes (CAN_DL <= 8)
 *   SF  0x00 LL data…               LL = 1..62 bytes (CAN FD only, CAN_DL > 8)
 *   FF  0x1L LL data…               12-bit length 8..4095
 *   FF  0x10 0x00 L L L L data…     32-bit big-endian length > 4095
 *   CF  0x2N data…                  N = sequence number 0..15 (first CF is 1)
 *   FC  0x3S BS STmin               S: 0 continue to send, 1 wait, 2 overflow
 */

export type PciErrorCode = 'invalid_pci' | 'invalid_length' | 'reserved_flow_status' | 'invalid_dlc';

export type FlowStatus = 'cts' | 'wait' | 'overflow';

export type Pci =
  | { readonly type: 'single'; readonly length: number; readonly data: Uint8Array }
  | { readonly type: 'first'; readonly length: number; readonly data: Uint8Array }
  | { readonly type: 'consecutive'; readonly sn: number; readonly data: Uint8Array }
  | {
      readonly type: 'flow';
      readonly status: FlowStatus;
      readonly blockSize: number;
      /** The STmin byte as sent. */
      readonly stMinRaw: number;
      /** The gap it asks for, in µs (reserved bytes read as 127 ms). */
      readonly stMinUs: number;
    };

/** Largest FF_DL the 12-bit length field carries; longer messages use the 32-bit escape. */
export const FF_DL_12BIT_MAX = 0xfff;
/** Largest message ISO-TP can announce at all (32-bit FF_DL). */
export const FF_DL_MAX = 0xffffffff;

const FLOW_STATUS: readonly FlowStatus[] = ['cts', 'wait', 'overflow'];

/** Payload bytes a single frame carries in a frame of data length `frameSize` (TX_DL). */
export function singleFrameCapacity(frameSize: number): number {
  return frameSize <= CLASSIC_MAX_LENGTH ? Math.min(7, frameSize - 1) : frameSize - 2;
}

/** Payload bytes a consecutive frame carries. */
export function consecutiveFrameCapacity(frameSize: number): number {
  return frameSize - 1;
}

/** Smallest FF_DL valid with a first frame of data length `frameSize`: anything shorter fits a SF. */
export function minFirstFrameLength(frameSize: number): number {
  return singleFrameCapacity(frameSize) + 1;
}

/** SF bytes (PCI + payload, unpadded). The short form is used whenever it fits, as ISO requires. */
export function encodeSingleFrame(payload: Uint8Array, frameSize: number): Uint8Array {
  const n = payload.length;
  if (n < 1 || n > singleFrameCapacity(frameSize)) {
    throw new RangeError(`${n} bytes do not fit a single frame of ${frameSize}`);
  }
  if (n <= 7) {
    const out = new Uint8Array(1 + n);
    out[0] = n;
    out.set(payload, 1);
    return out;
  }
  const out = new Uint8Array(2 + n);
  out[0] = 0x00;
  out[1] = n;
  out.set(payload, 2);
  return out;
}

/**
 * FF bytes: PCI plus as much payload as fills `frameSize`. `consumed` is the payload bytes it carries
 * (the first CF continues from there).
 */
export function encodeFirstFrame(
  payload: Uint8Array,
  frameSize: number,
): { readonly bytes: Uint8Array; readonly consumed: number } {
  const n = payload.length;
  if (n < minFirstFrameLength(frameSize) || n > FF_DL_MAX) {
    throw new RangeError(`${n} bytes cannot be sent segmented with frames of ${frameSize}`);
  }
  const bytes = new Uint8Array(frameSize);
  let pciLength: number;
  if (n <= FF_DL_12BIT_MAX) {
    bytes[0] = 0x10 | (n >>> 8);
    bytes[1] = n & 0xff;
    pciLength = 2;
  } else {
    bytes[0] = 0x10;
    bytes[1] = 0x00;
    new DataView(bytes.buffer).setUint32(2, n, false);
    pciLength = 6;
  }
  const consumed = frameSize - pciLength;
  bytes.set(payload.subarray(0, consumed), pciLength);
  return { bytes, consumed };
}

/** CF bytes: sequence number (taken mod 16) and a chunk of at most frameSize - 1 bytes. */
export function encodeConsecutiveFrame(sn: number, chunk: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + chunk.length);
  out[0] = 0x20 | (sn & 0x0f);
  out.set(chunk, 1);
  return out;
}

/** FC bytes. `stMinRaw` is the STmin byte (see encodeStMin). */
export function encodeFlowControl(status: FlowStatus, blockSize: number, stMinRaw: number): Uint8Array {
  if (!Number.isInteger(blockSize) || blockSize < 0 || blockSize > 0xff) {
    throw new RangeError(`block size must be 0..255, not ${blockSize}`);
  }
  if (!Number.isInteger(stMinRaw) || stMinRaw < 0 || stMinRaw > 0xff) {
    throw new RangeError(`STmin byte must be 0..255, not ${stMinRaw}`);
  }
  return Uint8Array.of(0x30 | FLOW_STATUS.indexOf(status), blockSize, stMinRaw);
}

function fail(
  code: PciErrorCode,
  message: string,
): { readonly ok: false; readonly error: CodedError<PciErrorCode> } {
  return err(codedError(code, message));
}

/**
 * Decodes the PCI of one CAN payload (`fd` = it came in a CAN FD frame). Checks everything that can be
 * checked from the frame alone; padding after the announced data is ignored.
 */
export function decodePci(data: Uint8Array, fd = false): Result<Pci, CodedError<PciErrorCode>> {
  const canDl = data.length;
  if (fd ? !isValidFdLength(canDl) : canDl > CLASSIC_MAX_LENGTH) {
    return fail('invalid_dlc', `${canDl} is not a valid ${fd ? 'CAN FD' : 'classic CAN'} data length`);
  }
  const pci = data[0];
  if (pci === undefined) return fail('invalid_pci', 'empty frame has no PCI');
  const low = pci & 0x0f;
  switch (pci >>> 4) {
    case 0x0:
      return decodeSingle(data, low);
    case 0x1:
      return decodeFirst(data, low);
    case 0x2:
      if (canDl < 2) return fail('invalid_length', 'consecutive frame without data');
      return ok({ type: 'consecutive', sn: low, data: data.subarray(1) });
    case 0x3: {
      const blockSize = data[1];
      const stMinRaw = data[2];
      if (blockSize === undefined || stMinRaw === undefined) {
        return fail('invalid_length', `flow control needs 3 bytes, got ${canDl}`);
      }
      const status = FLOW_STATUS[low];
      if (status === undefined) return fail('reserved_flow_status', `flow status ${low} is reserved`);
      return ok({ type: 'flow', status, blockSize, stMinRaw, stMinUs: decodeStMin(stMinRaw) });
    }
    default:
      return fail('invalid_pci', `PCI type 0x${(pci >>> 4).toString(16)} is not ISO-TP`);
  }
}

function decodeSingle(data: Uint8Array, low: number): Result<Pci, CodedError<PciErrorCode>> {
  const canDl = data.length;
  if (canDl <= CLASSIC_MAX_LENGTH) {
    // Short form only: an escape SF in a frame of 8 bytes or less is invalid (ISO 15765-2:2016).
    if (low === 0 || low > canDl - 1) {
      return fail('invalid_length', `single frame length ${low} in a frame of ${canDl} bytes`);
    }
    return ok({ type: 'single', length: low, data: data.subarray(1, 1 + low) });
  }
  // CAN_DL > 8: only the escape form is valid.
  const length = data[1] ?? 0;
  if (low !== 0 || length === 0 || length > canDl - 2) {
    return fail(
      'invalid_length',
      `single frame PCI 0x0${low.toString(16)} length ${length} in ${canDl} bytes`,
    );
  }
  return ok({ type: 'single', length, data: data.subarray(2, 2 + length) });
}

function decodeFirst(data: Uint8Array, low: number): Result<Pci, CodedError<PciErrorCode>> {
  const canDl = data.length;
  // The FF fills the sender's whole frame size, which sets the size of all CFs that follow.
  if (canDl < CLASSIC_MAX_LENGTH) return fail('invalid_length', `first frame of ${canDl} bytes (needs 8+)`);
  const length12 = (low << 8) | (data[1] ?? 0);
  if (length12 !== 0) {
    if (length12 < minFirstFrameLength(canDl)) {
      return fail('invalid_length', `first frame announces ${length12} bytes, which fit a single frame`);
    }
    return ok({ type: 'first', length: length12, data: data.subarray(2) });
  }
  const length32 = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(2, false);
  if (length32 <= FF_DL_12BIT_MAX) {
    return fail('invalid_length', `escaped first frame announces ${length32} bytes (needs > 4095)`);
  }
  return ok({ type: 'first', length: length32, data: data.subarray(6) });
}
