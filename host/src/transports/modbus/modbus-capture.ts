import { modbus } from '@mcubus/protocol';
import type { CaptureTap } from '../capture-tap.js';
import type { MasterOutput } from './master-core.js';

/**
 * Capture records of one step of the tunnel master: the ADUs it framed from the bytes that arrived
 * by `nowUs`, then the ADUs it asks to write now. Received ADUs are rebuilt from address, function and
 * data: the framer delivers only ADUs whose CRC checked (or that a single-bit repair made check), so
 * the rebuilt bytes are the ones on the line. Received ADUs are stamped at their end (as libpcap
 * stamps packets), those that arrived together in one read back to back, the last one ending at
 * `nowUs`; sent ones when they are handed to the line.
 */
export function captureAdus(tap: CaptureTap, out: MasterOutput, nowUs: number, charUs: number): void {
  const received = (out.received ?? []).map((a) => {
    const adu = modbus.encodeAdu(a.address, a.function, a.data);
    // The framer built it from a valid ADU, so it re-encodes; keep the fields visible if it ever did not.
    return adu.ok ? adu.value : Uint8Array.of(a.address, a.function, ...a.data);
  });
  let endUs = nowUs - received.reduce((sum, adu) => sum + adu.length, 0) * charUs;
  for (const adu of received) {
    endUs += adu.length * charUs;
    tap.emit({ link: 'modbus', direction: 'in', atUs: Math.round(endUs), adu });
  }
  for (const adu of out.send) tap.emit({ link: 'modbus', direction: 'out', atUs: Math.round(nowUs), adu });
}
