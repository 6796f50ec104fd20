/**
 * RTU timing derived from the line settings. All times are in microseconds and are plain numbers
 * (sans-IO: callers bring their own clock).
 */

export type Parity = 'none' | 'even' | 'odd';

export interface LineSettings {
  readonly parity: Parity;
  /** Modbus asks for 2 stop bits without parity; many devices use 1, so both are accepted. */
  readonly stopBits: 1 | 2;
}

export interface RtuTiming {
  /** Time on the wire of one character: start + 8 data + parity + stop bits. */
  readonly charTimeUs: number;
  /** Longest silence allowed between characters of one ADU. */
  readonly t15Us: number;
  /** Shortest silence between two ADUs. */
  readonly t35Us: number;
}

/** Modbus's default line: 8 data bits, even parity, 1 stop bit (11 bits a character). */
export const DEFAULT_LINE: LineSettings = { parity: 'even', stopBits: 1 };

/** Above this baud rate the spec fixes t1.5 and t3.5 instead of scaling them, to spare slaves' CPUs. */
export const FIXED_TIMING_ABOVE_BAUD = 19200;
export const FIXED_T15_US = 750;
export const FIXED_T35_US = 1750;

export function rtuTiming(baud: number, line: LineSettings = DEFAULT_LINE): RtuTiming {
  if (!Number.isFinite(baud) || baud <= 0) throw new RangeError(`baud rate ${baud} is not a positive number`);
  if (line.stopBits !== 1 && line.stopBits !== 2)
    throw new RangeError(`stop bits ${line.stopBits} is not 1 or 2`);
  const bits = 1 + 8 + (line.parity === 'none' ? 0 : 1) + line.stopBits;
  const charTimeUs = (bits * 1_000_000) / baud;
  if (baud > FIXED_TIMING_ABOVE_BAUD) return { charTimeUs, t15Us: FIXED_T15_US, t35Us: FIXED_T35_US };
  return { charTimeUs, t15Us: 1.5 * charTimeUs, t35Us: 3.5 * charTimeUs };
}

/** Time on the wire of an ADU of `length` bytes sent back to back. */
export function aduTimeUs(length: number, timing: RtuTiming): number {
  return length * timing.charTimeUs;
}

/** How long an mcubus slave may take from the end of a request to the start of its response. */
export const DEFAULT_PROCESSING_US = 50_000;
/** How long the master stays silent after a broadcast, so that every slave has processed it. */
export const DEFAULT_TURNAROUND_US = 100_000;

export interface ResponseTimeoutOptions {
  /** The slave's allowance to start answering after t3.5; default DEFAULT_PROCESSING_US. */
  readonly processingUs?: number;
  /** Extra delay of the receive path, e.g. a USB-serial adapter's latency timer; default 0. */
  readonly latencyUs?: number;
}

/**
 * How long the master waits for a response, counted from the end of the request on the wire:
 * the slave's t3.5 silence, its processing allowance, the response's own time on the wire (for the
 * longest response the request can draw) and the receive path's latency.
 */
export function responseTimeoutUs(
  timing: RtuTiming,
  maxResponseLength: number,
  options: ResponseTimeoutOptions = {},
): number {
  const processingUs = options.processingUs ?? DEFAULT_PROCESSING_US;
  const latencyUs = options.latencyUs ?? 0;
  return timing.t35Us + processingUs + aduTimeUs(maxResponseLength, timing) + latencyUs;
}
