/**
 * One CAN frame as the driver sees it. `data.length` is the frame's data length (CAN_DL): 0..8 for
 * classic CAN, one of FD_DATA_LENGTHS for CAN FD. `brs` (bit-rate switch) only means something on FD.
 */
export interface CanFrame {
  readonly id: number;
  readonly extended: boolean;
  readonly fd: boolean;
  readonly brs?: boolean;
  readonly data: Uint8Array;
}

/** The data lengths a CAN FD frame can have, indexed by DLC (0..15). */
export const FD_DATA_LENGTHS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];

/** Largest data length of a classic CAN frame. */
export const CLASSIC_MAX_LENGTH = 8;

/** Largest data length of a CAN FD frame. */
export const FD_MAX_LENGTH = 64;

export function isValidFdLength(length: number): boolean {
  return FD_DATA_LENGTHS.includes(length);
}

/** Smallest valid CAN FD data length >= `length` (FD cannot carry e.g. 10 bytes: it carries 12). */
export function roundUpFdLength(length: number): number {
  for (const valid of FD_DATA_LENGTHS) if (valid >= length) return valid;
  throw new RangeError(`CAN FD frames carry at most ${FD_MAX_LENGTH} bytes, not ${length}`);
}

/** The DLC code (0..15) of a valid CAN FD data length. */
export function fdDlcForLength(length: number): number {
  const dlc = FD_DATA_LENGTHS.indexOf(length);
  if (dlc < 0) throw new RangeError(`${length} is not a valid CAN FD data length`);
  return dlc;
}

/** The data length of a CAN FD DLC code (0..15). */
export function fdLengthForDlc(dlc: number): number {
  const length = FD_DATA_LENGTHS[dlc];
  if (length === undefined || !Number.isInteger(dlc)) throw new RangeError(`${dlc} is not a DLC (0..15)`);
  return length;
}
