import { err, ok, type Result } from '../result.js';
import { copyBytes } from './bytes.js';
import { type ModbusError, modbusError } from './errors.js';
import { MAX_TUNNEL_FRAME_LENGTH } from './functions.js';
import { checkDataLength } from './layout.js';

/**
 * The data of an FC 0x41 PDU, identical in both directions: `count N (0..251) | N frame bytes`.
 * The count is redundant with RTU's silence framing on purpose: it lets a receiver find the end of
 * the ADU by length, since USB-serial adapters cannot time the 3.5-character gap.
 */
export function encodeTunnelData(frame: Uint8Array | null): Result<Uint8Array, ModbusError> {
  if (frame === null) return ok(Uint8Array.of(0));
  if (frame.length === 0) {
    return err(modbusError('bad_value', 'an empty frame cannot be tunnelled; send null for "nothing"'));
  }
  if (frame.length > MAX_TUNNEL_FRAME_LENGTH) {
    return err(modbusError('oversize', `frame of ${frame.length} bytes exceeds ${MAX_TUNNEL_FRAME_LENGTH}`));
  }
  const data = new Uint8Array(frame.length + 1);
  data[0] = frame.length;
  data.set(frame, 1);
  return ok(data);
}

export function decodeTunnelData(data: Uint8Array): Result<Uint8Array | null, ModbusError> {
  const count = data[0];
  if (count === undefined) return err(modbusError('truncated', 'tunnel PDU has no count byte'));
  if (count > MAX_TUNNEL_FRAME_LENGTH) {
    return err(modbusError('bad_byte_count', `tunnel count ${count} exceeds ${MAX_TUNNEL_FRAME_LENGTH}`));
  }
  const lengthError = checkDataLength(data, 1 + count);
  if (lengthError) return err(lengthError);
  return ok(count === 0 ? null : copyBytes(data, 1));
}
