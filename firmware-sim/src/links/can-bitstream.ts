import { type CanFrame, fdDlcForLength, isValidFdLength } from '@mcubus/protocol';
import { type CanCrcLength, canCrc, canCrcLength } from './can-crc.js';

/**
 * A CAN data frame as the bits it puts on the wire (ISO 11898-1:2015 §10.4), SOF through the 3-bit
 * intermission, stuff bits included. The bus derives every duration from this stream rather than from a
 * formula: stuff bits depend on the identifier, the data and (classic CAN) the CRC value, and the stream
 * also tells where the bit-rate switch, the FDF bit and the ACK slot are, which the error model needs.
 *
 * Layout (0 = dominant, 1 = recessive):
 *   classic base     SOF ID[10:0] RTR=0 IDE=0 r0=0 DLC[4] data CRC[15]
 *   classic extended SOF ID[28:18] SRR=1 IDE=1 ID[17:0] RTR=0 r1=0 r0=0 DLC[4] data CRC[15]
 *   FD base          SOF ID[10:0] RRS=0 IDE=0 FDF=1 res=0 BRS ESI DLC[4] data SC[3] P CRC[17|21]
 *   FD extended      SOF ID[28:18] SRR=1 IDE=1 ID[17:0] RRS=0 FDF=1 res=0 BRS ESI DLC[4] data ...
 *   then CRC delimiter=1, ACK slot, ACK delimiter=1, EOF=1×7, intermission=1×3.
 *
 * Stuffing: classic frames are stuffed dynamically from SOF to the end of the CRC sequence (after five
 * equal bits the complement is inserted, and a stuff bit starts the next run). FD frames are stuffed
 * dynamically from SOF to the end of the data field; the CRC field then carries fixed stuff bits (FSB),
 * each the complement of the bit before it: one before the stuff count, and one after every 4 bits of
 * stuff count + parity + CRC. A dynamic stuff bit that would fall right before the first FSB is not
 * inserted (the FSB already breaks the run) and is not counted in the stuff count.
 */
export interface CanWireFrame {
  /** Bus levels, SOF to the end of intermission; the ACK slot is 0 (acknowledged). */
  readonly levels: Uint8Array;
  /** Index of the first bit sent at the data bit rate (FD with BRS: the ESI bit); equals dataPhaseEnd if none. */
  readonly dataPhaseStart: number;
  /** One past the last data-rate bit (FD with BRS: the CRC delimiter, inclusive). */
  readonly dataPhaseEnd: number;
  /** Index of the FDF bit (the r0 / r1 position a classic-only controller misreads in FD frames). */
  readonly fdfBit: number;
  /** Index of the ACK slot; also the number of bits SOF..CRC delimiter. */
  readonly ackSlot: number;
  /** One past the last EOF bit: where the frame becomes valid for transmitter and receivers. */
  readonly eofEnd: number;
  /** Dynamic stuff bits inserted. */
  readonly stuffBits: number;
  /** Fixed stuff bits in the CRC field of FD frames (0 for classic). */
  readonly fixedStuffBits: number;
  readonly crc: number;
  readonly crcLength: CanCrcLength;
  /** FD: the stuff count sent (dynamic stuff bits mod 8); null for classic frames. */
  readonly stuffCount: number | null;
}

export interface CanWireOptions {
  /** Error state indicator of an FD frame: recessive when the transmitter is error passive. */
  readonly esi?: boolean;
}

export const MAX_STANDARD_ID = 0x7ff;
export const MAX_EXTENDED_ID = 0x1fffffff;
/** Bits after the CRC delimiter: ACK slot, ACK delimiter, EOF (7), intermission (3). */
const TAIL_AFTER_CRC_DELIMITER = 1 + 1 + 7 + 3;

/** Throws a RangeError unless `frame` is a well-formed classic or FD data frame. */
export function assertValidCanFrame(frame: CanFrame): void {
  const max = frame.extended ? MAX_EXTENDED_ID : MAX_STANDARD_ID;
  if (!Number.isInteger(frame.id) || frame.id < 0 || frame.id > max) {
    throw new RangeError(
      `CAN id 0x${frame.id.toString(16)} out of range for a ${frame.extended ? '29' : '11'}-bit id`,
    );
  }
  const n = frame.data.length;
  if (frame.fd ? !isValidFdLength(n) : n > 8) {
    throw new RangeError(`${n} bytes is not a valid ${frame.fd ? 'CAN FD' : 'classic CAN'} data length`);
  }
}

/** Builds the wire bit stream of a data frame. */
export function canWireFrame(frame: CanFrame, options: CanWireOptions = {}): CanWireFrame {
  assertValidCanFrame(frame);
  const raw: number[] = [];
  const push = (value: number, width: number) => {
    for (let i = width - 1; i >= 0; i--) raw.push((value >>> i) & 1);
  };
  const brs = frame.fd && frame.brs === true;

  push(0, 1); // SOF
  if (frame.extended) {
    push(frame.id >>> 18, 11);
    push(1, 1); // SRR
    push(1, 1); // IDE
    push(frame.id & 0x3ffff, 18);
    push(0, 1); // RTR (data frame) / RRS
  } else {
    push(frame.id, 11);
    push(0, 1); // RTR / RRS
    push(0, 1); // IDE
  }
  const rawFdf = raw.length;
  let rawBrs = -1;
  if (frame.fd) {
    push(1, 1); // FDF
    push(0, 1); // res
    rawBrs = raw.length;
    push(brs ? 1 : 0, 1);
    push(options.esi ? 1 : 0, 1);
    push(fdDlcForLength(frame.data.length), 4);
  } else {
    if (frame.extended) push(0, 1); // r1
    push(0, 1); // r0
    push(frame.data.length, 4);
  }
  for (const byte of frame.data) push(byte, 8);

  const crcLength = canCrcLength(frame.fd, frame.data.length);
  if (frame.fd) return fdWire(raw, rawFdf, rawBrs, brs, crcLength);

  // Classic: the CRC covers the destuffed SOF..data, and is itself dynamically stuffed.
  const crc = canCrc(15, raw);
  push(crc, 15);
  const out: number[] = [];
  const map = stuff(raw, out, false);
  const ackSlot = appendTail(out);
  return {
    levels: Uint8Array.from(out),
    dataPhaseStart: ackSlot,
    dataPhaseEnd: ackSlot,
    fdfBit: map[rawFdf]!,
    ackSlot,
    eofEnd: ackSlot + 9,
    stuffBits: out.length - raw.length - TAIL_AFTER_CRC_DELIMITER - 1,
    fixedStuffBits: 0,
    crc,
    crcLength,
    stuffCount: null,
  };
}

function fdWire(
  raw: number[],
  rawFdf: number,
  rawBrs: number,
  brs: boolean,
  crcLength: CanCrcLength,
): CanWireFrame {
  const out: number[] = [];
  const map = stuff(raw, out, true);
  const stuffBits = out.length - raw.length;
  const stuffCount = stuffBits % 8;
  const gray = stuffCount ^ (stuffCount >>> 1);
  const parity = ((gray >>> 2) ^ (gray >>> 1) ^ gray) & 1; // even parity over the Gray code

  // The CRC covers SOF..data with dynamic stuff bits, then the stuff count and parity, but no FSB.
  const covered = out.slice();
  const fieldBits: number[] = [(gray >>> 2) & 1, (gray >>> 1) & 1, gray & 1, parity];
  covered.push(...fieldBits);
  const crc = canCrc(crcLength, covered);
  for (let i = crcLength - 1; i >= 0; i--) fieldBits.push((crc >>> i) & 1);

  let fixedStuffBits = 0;
  fieldBits.forEach((bit, i) => {
    if (i % 4 === 0) {
      out.push(out[out.length - 1]! ^ 1);
      fixedStuffBits++;
    }
    out.push(bit);
  });
  const crcDelimiter = out.length;
  const ackSlot = appendTail(out);
  return {
    levels: Uint8Array.from(out),
    dataPhaseStart: brs ? map[rawBrs]! + 1 : ackSlot,
    dataPhaseEnd: brs ? crcDelimiter + 1 : ackSlot,
    fdfBit: map[rawFdf]!,
    ackSlot,
    eofEnd: ackSlot + 9,
    stuffBits,
    fixedStuffBits,
    crc,
    crcLength,
    stuffCount,
  };
}

/**
 * Appends `raw` to `out` with dynamic stuff bits; returns the index in `out` of every raw bit. With
 * `fd`, no stuff bit follows the last raw bit (the fixed stuff bit before the stuff count takes its place).
 */
function stuff(raw: readonly number[], out: number[], fd: boolean): number[] {
  const map: number[] = [];
  let last = -1;
  let run = 0;
  raw.forEach((bit, i) => {
    map.push(out.length);
    out.push(bit);
    run = bit === last ? run + 1 : 1;
    last = bit;
    if (run === 5 && !(fd && i === raw.length - 1)) {
      out.push(bit ^ 1);
      last = bit ^ 1;
      run = 1;
    }
  });
  return map;
}

/** Appends CRC delimiter, ACK slot (dominant: acknowledged), ACK delimiter, EOF, intermission. */
function appendTail(out: number[]): number {
  out.push(1); // CRC delimiter
  const ackSlot = out.length;
  out.push(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
  return ackSlot;
}
