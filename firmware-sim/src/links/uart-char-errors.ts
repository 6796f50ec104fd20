import type { LineFormat } from './uart-format.js';

/** What a receiving UART makes of one character after some of its bits were flipped on the wire. */
export interface CharFate {
  /** The character never reaches the receiver's data register. */
  readonly lost: 'drop' | 'start-bit' | null;
  readonly value: number;
  readonly flippedBits: number;
  /** The parity check failed (the byte is still delivered, as most UART drivers do). */
  readonly parityError: boolean;
  /** The stop bit read as 0 (the byte is still delivered). */
  readonly framingError: boolean;
}

/**
 * Applies bit flips at `positions` of a character on the wire, numbered as sent: 0 is the start bit,
 * 1…dataBits the data bits LSB first, then the parity bit if any, then the stop bit(s).
 *
 * Simplifications (see docs/simulator-lines.md): a flipped start bit loses the character (the receiver
 * never sees the falling edge at that time; the resynchronisation garbage a real UART might produce is
 * not modelled); only the first stop bit is checked, as real UARTs do.
 */
export function applyWireFlips(format: LineFormat, value: number, positions: readonly number[]): CharFate {
  const parityAt = format.parity === 'none' ? -1 : 1 + format.dataBits;
  const stopAt = 1 + format.dataBits + (format.parity === 'none' ? 0 : 1);
  let v = value;
  let lostStart = false;
  let parityFlips = 0;
  let framingError = false;
  for (const p of positions) {
    if (p === 0) lostStart = true;
    else if (p <= format.dataBits) {
      v ^= 1 << (p - 1);
      parityFlips++;
    } else if (p === parityAt) parityFlips++;
    else if (p === stopAt) framingError = true;
  }
  return {
    lost: lostStart ? 'start-bit' : null,
    value: v,
    flippedBits: positions.length,
    // An odd number of flips among data and parity bits breaks even and odd parity alike.
    parityError: parityAt >= 0 && parityFlips % 2 === 1,
    framingError,
  };
}

/** Keeps the bits a line of `dataBits` actually carries (a 7-bit line never sends bit 7). */
export function dataMask(format: LineFormat): number {
  return format.dataBits === 7 ? 0x7f : 0xff;
}
