/**
 * Asynchronous serial character format: how many bits one character takes on the wire, hence how long
 * it takes. Every timing of the simulated UART and RS-485 lines derives from this.
 */
export type LineParity = 'none' | 'even' | 'odd';

export interface LineFormat {
  readonly baud: number;
  readonly dataBits: 7 | 8;
  readonly parity: LineParity;
  readonly stopBits: 1 | 2;
}

/** The usual shorthand: data bits, parity letter, stop bits ('8N1', '8E1', '7E2', …). */
export type FrameSpec = `${7 | 8}${'N' | 'E' | 'O'}${1 | 2}`;

const PARITY_BY_LETTER: Readonly<Record<string, LineParity>> = { N: 'none', E: 'even', O: 'odd' };
const LETTER_BY_PARITY: Readonly<Record<LineParity, string>> = { none: 'N', even: 'E', odd: 'O' };

/** `lineFormat(115200)` is 8N1 at 115200 baud; `lineFormat(19200, '8E1')` is Modbus's default line. */
export function lineFormat(baud: number, spec: FrameSpec = '8N1'): LineFormat {
  const format: LineFormat = {
    baud,
    dataBits: Number(spec[0]) as 7 | 8,
    parity: PARITY_BY_LETTER[spec[1]!]!,
    stopBits: Number(spec[2]) as 1 | 2,
  };
  validateLineFormat(format);
  return format;
}

export function validateLineFormat(f: LineFormat): void {
  if (!Number.isFinite(f.baud) || f.baud <= 0) throw new RangeError(`baud rate ${f.baud} is not positive`);
  if (f.dataBits !== 7 && f.dataBits !== 8) throw new RangeError(`data bits ${f.dataBits} is not 7 or 8`);
  if (!(f.parity in LETTER_BY_PARITY)) throw new RangeError(`parity ${f.parity} is not none, even or odd`);
  if (f.stopBits !== 1 && f.stopBits !== 2) throw new RangeError(`stop bits ${f.stopBits} is not 1 or 2`);
}

/** Start bit + data bits + parity bit (if any) + stop bits. */
export function bitsPerChar(f: LineFormat): number {
  return 1 + f.dataBits + (f.parity === 'none' ? 0 : 1) + f.stopBits;
}

/** Time one character occupies the wire, in ns (not rounded: 86 805.55… ns at 115200 8N1). */
export function byteTimeNs(f: LineFormat): number {
  return (bitsPerChar(f) * 1e9) / f.baud;
}

/** '115200 8N1', for traces and messages. */
export function describeLineFormat(f: LineFormat): string {
  return `${f.baud} ${f.dataBits}${LETTER_BY_PARITY[f.parity]}${f.stopBits}`;
}
