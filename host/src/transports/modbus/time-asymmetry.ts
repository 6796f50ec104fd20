import type { modbus } from '@mcubus/protocol';

/**
 * The time-sync asymmetry of a Modbus RTU hop: a request's end is known to the slave 3.5 characters
 * after its last byte, the answer's end to the master at once (or after the same silence), so the
 * two directions' floors may differ by up to t3.5 and the offset by half of it (the soak measured
 * 790 µs at 19 200 baud, where t3.5 is 2005 µs).
 */
export function modbusTimeAsymmetryUs(timing: modbus.RtuTiming): number {
  return Math.ceil(timing.t35Us / 2);
}
