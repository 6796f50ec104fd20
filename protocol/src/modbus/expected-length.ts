import { err, ok, type Result } from '../result.js';
import { BROADCAST_ADDRESS, isReservedAddress } from './adu.js';
import { readU16 } from './bytes.js';
import { type ModbusError, modbusError } from './errors.js';
import { EXCEPTION_FLAG, FunctionCode, MAX_TUNNEL_FRAME_LENGTH, MAX_WRITE_QUANTITY } from './functions.js';
import { isReadByteCount } from './layout.js';

/** Who sent the ADU: the master sends requests, slaves send responses. */
export type Direction = 'request' | 'response';

/**
 * The total length of the ADU (CRC included) that starts with `prefix`, read from the function code
 * and, where the layout has one, its count byte; 'need_more' until enough of the header is there.
 *
 * This is how mcubus frames RTU without timing the 3.5-character gap. A prefix that cannot start a
 * valid ADU in this direction (reserved address, unknown function, count out of range) is an error
 * at once, so a receiver skips garbage without waiting for bytes that would never make a frame.
 */
export function expectedAduLength(
  prefix: Uint8Array,
  direction: Direction,
): Result<number | 'need_more', ModbusError> {
  const address = prefix[0];
  if (address === undefined) return ok('need_more');
  if (isReservedAddress(address)) {
    return err(modbusError('reserved_address', `address ${address} is reserved (248..255)`));
  }
  if (direction === 'response' && address === BROADCAST_ADDRESS) {
    return err(modbusError('broadcast_response', 'address 0 is broadcast, which is never answered'));
  }
  const fn = prefix[1];
  if (fn === undefined) return ok('need_more');
  return direction === 'request' ? requestLength(prefix, fn) : responseLength(prefix, fn);
}

// Lengths below are address (1) + function (1) + data + CRC (2).

function requestLength(prefix: Uint8Array, fn: number): Result<number | 'need_more', ModbusError> {
  switch (fn) {
    case FunctionCode.READ_HOLDING_REGISTERS:
    case FunctionCode.READ_INPUT_REGISTERS:
    case FunctionCode.WRITE_SINGLE_REGISTER:
      return ok(8);
    case FunctionCode.WRITE_MULTIPLE_REGISTERS: {
      // start (2) | quantity (2) | byte count (1) | values
      if (prefix.length < 7) return ok('need_more');
      const quantity = readU16(prefix, 4);
      if (quantity < 1 || quantity > MAX_WRITE_QUANTITY) {
        return err(modbusError('bad_quantity', `quantity ${quantity} is not 1..${MAX_WRITE_QUANTITY}`));
      }
      const byteCount = prefix[6]!;
      if (byteCount !== quantity * 2) {
        return err(modbusError('bad_byte_count', `byte count ${byteCount} for quantity ${quantity}`));
      }
      return ok(9 + byteCount);
    }
    case FunctionCode.MCUBUS:
      return tunnelLength(prefix);
    default:
      return err(modbusError('unknown_function', `function 0x${fn.toString(16)} is not a known request`));
  }
}

function responseLength(prefix: Uint8Array, fn: number): Result<number | 'need_more', ModbusError> {
  if (fn > EXCEPTION_FLAG) return ok(5);
  switch (fn) {
    case FunctionCode.READ_HOLDING_REGISTERS:
    case FunctionCode.READ_INPUT_REGISTERS: {
      const byteCount = prefix[2];
      if (byteCount === undefined) return ok('need_more');
      if (!isReadByteCount(byteCount)) {
        return err(modbusError('bad_byte_count', `byte count ${byteCount} is not even 2..250`));
      }
      return ok(5 + byteCount);
    }
    case FunctionCode.WRITE_SINGLE_REGISTER:
    case FunctionCode.WRITE_MULTIPLE_REGISTERS:
      return ok(8);
    case FunctionCode.MCUBUS:
      return tunnelLength(prefix);
    default:
      return err(modbusError('unknown_function', `function 0x${fn.toString(16)} is not a known response`));
  }
}

function tunnelLength(prefix: Uint8Array): Result<number | 'need_more', ModbusError> {
  const count = prefix[2];
  if (count === undefined) return ok('need_more');
  if (count > MAX_TUNNEL_FRAME_LENGTH) {
    return err(modbusError('bad_byte_count', `tunnel count ${count} exceeds ${MAX_TUNNEL_FRAME_LENGTH}`));
  }
  return ok(5 + count);
}
