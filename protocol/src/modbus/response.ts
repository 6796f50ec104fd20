import { err, ok, type Result } from '../result.js';
import { type Adu, BROADCAST_ADDRESS, decodeAdu, encodeAdu } from './adu.js';
import { isU8, readU16 } from './bytes.js';
import { type ModbusError, modbusError } from './errors.js';
import { EXCEPTION_FLAG, FunctionCode, MAX_READ_QUANTITY, MAX_WRITE_QUANTITY } from './functions.js';
import {
  badFunction,
  checkDataLength,
  checkQuantity,
  checkU16,
  encodeCountedRegisters,
  isReadByteCount,
  readRegisters,
  u16Fields,
} from './layout.js';
import type { ModbusResponse } from './messages.js';
import { decodeTunnelData, encodeTunnelData } from './tunnel.js';

/** Encodes a response into a complete ADU. Address 0 is refused: broadcasts are never answered. */
export function encodeResponse(response: ModbusResponse): Result<Uint8Array, ModbusError> {
  if (response.address === BROADCAST_ADDRESS) return err(broadcastResponse());
  const data = encodeResponseData(response);
  if (!data.ok) return data;
  return encodeAdu(response.address, response.function, data.value);
}

/** Decodes a complete response ADU (slave → master). */
export function decodeResponse(bytes: Uint8Array): Result<ModbusResponse, ModbusError> {
  const adu = decodeAdu(bytes);
  return adu.ok ? responseFromAdu(adu.value) : adu;
}

/** Interprets an ADU already checked by decodeAdu (e.g. one from RtuFramer) as a response. */
export function responseFromAdu(adu: Adu): Result<ModbusResponse, ModbusError> {
  const { address, data } = adu;
  const fn = adu.function;
  if (address === BROADCAST_ADDRESS) return err(broadcastResponse());
  if (fn > EXCEPTION_FLAG) {
    // Any function may be refused, including ones mcubus never sends, so all 0x81..0xFF decode.
    const lengthError = checkDataLength(data, 1);
    if (lengthError) return err(lengthError);
    const code = data[0]!;
    if (code === 0) return err(modbusError('bad_exception_code', 'exception code 0 is not defined'));
    return ok({ address, kind: 'exception', function: fn, code });
  }
  switch (fn) {
    case FunctionCode.READ_HOLDING_REGISTERS:
    case FunctionCode.READ_INPUT_REGISTERS: {
      // byte count (1) | registers (byte count / 2)
      const byteCount = data[0];
      if (byteCount === undefined) return err(modbusError('truncated', 'read response has no byte count'));
      if (!isReadByteCount(byteCount)) {
        return err(modbusError('bad_byte_count', `byte count ${byteCount} is not even 2..250`));
      }
      const lengthError = checkDataLength(data, 1 + byteCount);
      if (lengthError) return err(lengthError);
      return ok({
        address,
        kind: 'read_registers',
        function: fn,
        registers: readRegisters(data, 1, byteCount / 2),
      });
    }
    case FunctionCode.WRITE_SINGLE_REGISTER: {
      const lengthError = checkDataLength(data, 4);
      if (lengthError) return err(lengthError);
      return ok({
        address,
        kind: 'write_single_register',
        function: fn,
        register: readU16(data, 0),
        value: readU16(data, 2),
      });
    }
    case FunctionCode.WRITE_MULTIPLE_REGISTERS: {
      const lengthError = checkDataLength(data, 4);
      if (lengthError) return err(lengthError);
      const quantity = readU16(data, 2);
      const quantityError = checkQuantity(quantity, MAX_WRITE_QUANTITY);
      if (quantityError) return err(quantityError);
      return ok({
        address,
        kind: 'write_multiple_registers',
        function: fn,
        start: readU16(data, 0),
        quantity,
      });
    }
    case FunctionCode.MCUBUS: {
      const frame = decodeTunnelData(data);
      return frame.ok ? ok({ address, kind: 'mcubus', function: fn, frame: frame.value }) : frame;
    }
    default:
      return err(modbusError('unknown_function', `function 0x${fn.toString(16)} is not a known response`));
  }
}

function encodeResponseData(response: ModbusResponse): Result<Uint8Array, ModbusError> {
  switch (response.kind) {
    case 'read_registers':
      if (response.function !== 0x03 && response.function !== 0x04) return badFunction(response);
      return encodeCountedRegisters(new Uint8Array(0), response.registers, MAX_READ_QUANTITY);
    case 'write_single_register': {
      if (response.function !== FunctionCode.WRITE_SINGLE_REGISTER) return badFunction(response);
      const problem = checkU16('register', response.register) ?? checkU16('value', response.value);
      return problem ? err(problem) : ok(u16Fields(response.register, response.value));
    }
    case 'write_multiple_registers': {
      if (response.function !== FunctionCode.WRITE_MULTIPLE_REGISTERS) return badFunction(response);
      const problem =
        checkU16('start', response.start) ?? checkQuantity(response.quantity, MAX_WRITE_QUANTITY);
      return problem ? err(problem) : ok(u16Fields(response.start, response.quantity));
    }
    case 'mcubus':
      if (response.function !== FunctionCode.MCUBUS) return badFunction(response);
      return encodeTunnelData(response.frame);
    case 'exception':
      if (!isU8(response.function) || response.function <= EXCEPTION_FLAG) return badFunction(response);
      if (!isU8(response.code) || response.code === 0) {
        return err(modbusError('bad_exception_code', `exception code ${response.code} is not 1..255`));
      }
      return ok(Uint8Array.of(response.code));
    default:
      return err(
        modbusError('unknown_function', `unknown response kind ${(response as { kind: unknown }).kind}`),
      );
  }
}

function broadcastResponse(): ModbusError {
  return modbusError('broadcast_response', 'address 0 is broadcast, which is never answered');
}
