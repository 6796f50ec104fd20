import type { CanFrame } from '@mcubus/protocol';
import type { SimTime } from '../kernel/scheduler.js';
import { type CanWireFrame, type CanWireOptions, canWireFrame } from './can-bitstream.js';
import type { CanCrcLength } from './can-crc.js';

/**
 * Exact on-the-wire length and duration of CAN frames, from the real bit stream (see can-bitstream.ts).
 * Bit-rate switching: an FD frame with BRS sends ESI..CRC delimiter at the data bit rate. The switch
 * really happens at the sample point of BRS and back at the sample point of the CRC delimiter; counting
 * BRS as a nominal bit and the CRC delimiter as a data bit is the whole-bit split closest to that.
 */

export interface CanBitrates {
  /** Arbitration-phase bit rate, bit/s. */
  readonly nominalBitrate: number;
  /** Data-phase bit rate of FD frames with BRS, bit/s; defaults to the nominal rate. */
  readonly dataBitrate?: number;
}

export interface CanFrameBitCount {
  /** SOF through EOF plus the 3-bit intermission, stuff bits included. */
  readonly total: number;
  /** Bits sent at the nominal bit rate. */
  readonly nominal: number;
  /** Bits sent at the data bit rate (FD with BRS only). */
  readonly data: number;
  /** Dynamic stuff bits. */
  readonly stuffBits: number;
  /** Fixed stuff bits of the FD CRC field. */
  readonly fixedStuffBits: number;
  readonly crc: number;
  readonly crcLength: CanCrcLength;
  /** FD stuff count field value (dynamic stuff bits mod 8), null for classic frames. */
  readonly stuffCount: number | null;
}

/** Intermission (interframe space) bits counted in every frame length here. */
export const CAN_INTERMISSION_BITS = 3;

export function canFrameBits(frame: CanFrame, options: CanWireOptions = {}): CanFrameBitCount {
  return bitCountOf(canWireFrame(frame, options));
}

export function bitCountOf(wire: CanWireFrame): CanFrameBitCount {
  const total = wire.levels.length;
  const data = wire.dataPhaseEnd - wire.dataPhaseStart;
  return {
    total,
    nominal: total - data,
    data,
    stuffBits: wire.stuffBits,
    fixedStuffBits: wire.fixedStuffBits,
    crc: wire.crc,
    crcLength: wire.crcLength,
    stuffCount: wire.stuffCount,
  };
}

export function canFrameDurationNs(
  frame: CanFrame,
  rates: CanBitrates,
  options: CanWireOptions = {},
): SimTime {
  const wire = canWireFrame(frame, options);
  return wireSpanNs(wire, 0, wire.levels.length, rates);
}

/** Duration of `nominal` bits at the nominal rate plus `data` bits at the data rate, in ns. */
export function bitsDurationNs(nominal: number, data: number, rates: CanBitrates): SimTime {
  // One division per phase keeps integral results exact (500 kbit/s → 2000 ns per bit, not 1999.99…).
  return (nominal * 1e9) / rates.nominalBitrate + (data * 1e9) / (rates.dataBitrate ?? rates.nominalBitrate);
}

/** Time the bits [from, to) of a wire frame take, each at its own phase's rate. */
export function wireSpanNs(wire: CanWireFrame, from: number, to: number, rates: CanBitrates): SimTime {
  const dataBits = Math.max(0, Math.min(to, wire.dataPhaseEnd) - Math.max(from, wire.dataPhaseStart));
  return bitsDurationNs(to - from - dataBits, dataBits, rates);
}

/** Classic data frame length without stuff bits, intermission included: 47 + 8n (base) / 67 + 8n (extended). */
export function classicUnstuffedBits(dataLength: number, extended: boolean): number {
  return (extended ? 67 : 47) + 8 * dataLength;
}

/**
 * CAN FD data frame length without dynamic stuff bits (its fixed stuff bits are always there),
 * intermission included: base 62 + 8n (CRC-17) / 67 + 8n (CRC-21); extended 81 + 8n / 86 + 8n.
 */
export function fdUnstuffedBits(dataLength: number, extended: boolean): number {
  const header = extended ? 41 : 22; // SOF .. DLC
  const crcField = dataLength <= 16 ? 4 + 17 + 6 : 4 + 21 + 7; // stuff count + parity + CRC + FSBs
  return header + 8 * dataLength + crcField + 13; // CRC delim, ACK, ACK delim, EOF, intermission
}

/** Largest possible number of dynamic stuff bits in a classic frame: ⌊(g + 8n − 1) / 4⌋, g = 34 or 54. */
export function classicMaxStuffBits(dataLength: number, extended: boolean): number {
  return Math.floor(((extended ? 54 : 34) + 8 * dataLength - 1) / 4);
}
