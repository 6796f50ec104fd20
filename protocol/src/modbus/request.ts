import { err, ok, type Result } from '../result.js';
import { type Adu, decodeAdu, encodeAdu } from './adu.js';
import { readU16 } from './bytes.js';
import { type ModbusError, modbusError } from './errors.js';
import { FunctionCode, MAX_READ_QUANTITY, MAX_WRITE_QUANTITY } from './functions.js';
import {
  badFunction,
  checkDataLength,
  checkQuantity,
  checkU16,
  encodeCountedRegisters,
  readRegisters,
  u16Fields,
} from './layout.js';
import type { ModbusRequest } from './messages.js';
import { decodeTunnelData, encodeTunnelData } from './tunnel.js';

/** Encodes a request into a complete ADU (address, PDU, CRC). Bad arguments give an error, never a throw. */
export function encodeRequest(request: ModbusRequest): Result<Uint8Array, ModbusError> {
  const data = encodeRequestData(request);
  if (!data.ok) return data;
  return encodeAdu(request.address, request.function, data.value);
}

/** Decodes a complete request ADU (master → slave). */
export function decodeRequest(bytes: Uint8Array): Result<ModbusRequest, ModbusError> {
  const adu = decodeAdu(bytes);
  return adu.ok ? requestFromAdu(adu.value) : adu;
}

/** Interprets an ADU already checked by decodeAdu (e.g. one from RtuFramer) as a request. */
export function requestFromAdu(adu: Adu): Result<ModbusRequest, ModbusError> {
  const { address, data } = adu;
  const fn = adu.function;
  switch (fn) {
    case FunctionCode.READ_HOLDING_REGISTERS:
    case FunctionCode.READ_INPUT_REGISTERS: {
      const lengthError = checkDataLength(data, 4);
      if (lengthError) return err(lengthError);
      const quantity = readU16(data, 2);
      const quantityError = checkQuantity(quantity, MAX_READ_QUANTITY);
      if (quantityError) return err(quantityError);
      return ok({ address, kind: 'read_registers', function: fn, start: readU16(data, 0), quantity });
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
      // start (2) | quantity (2) | byte count (1) | values (2 × quantity)
      if (data.length < 5) return err(modbusError('truncated', `${data.length} data bytes; 0x10 needs 5+`));
      const quantity = readU16(data, 2);
      const quantityError = checkQuantity(quantity, MAX_WRITE_QUANTITY);
      if (quantityError) return err(quantityError);
      const byteCount = data[4]!;
      if (byteCount !== quantity * 2) {
        return err(modbusError('bad_byte_count', `byte count ${byteCount} for quantity ${quantity}`));
      }
      const lengthError = checkDataLength(data, 5 + byteCount);
      if (lengthError) return err(lengthError);
      return ok({
        address,
        kind: 'write_multiple_registers',
        function: fn,
        start: readU16(data, 0),
        values: readRegisters(data, 5, quantity),
      });
    }
    case FunctionCode.MCUBUS: {
      const frame = decodeTunnelData(data);
      return frame.ok ? ok({ address, kind: 'mcubus', function: fn, frame: frame.value }) : frame;
    }
    default:
      return err(modbusError('unknown_function', `function 0x${fn.toString(16)} is not a known request`));
  }
}

function encodeRequestData(request: ModbusRequest): Result<Uint8Array, ModbusError> {
  switch (request.kind) {
    case 'read_registers': {
      if (request.function !== 0x03 && request.function !== 0x04) return badFunction(request);
      const problem = checkU16('start', request.start) ?? checkQuantity(request.quantity, MAX_READ_QUANTITY);
      return problem ? err(problem) : ok(u16Fields(request.start, request.quantity));
    }
    case 'write_single_register': {
      if (request.function !== FunctionCode.WRITE_SINGLE_REGISTER) return badFunction(request);
      const problem = checkU16('register', request.register) ?? checkU16('value', request.value);
      return problem ? err(problem) : ok(u16Fields(request.register, request.value));
    }
    case 'write_multiple_registers': {
      if (request.function !== FunctionCode.WRITE_MULTIPLE_REGISTERS) return badFunction(request);
      const problem = checkU16('start', request.start);
      if (problem) return err(problem);
      return encodeCountedRegisters(
        u16Fields(request.start, request.values.length),
        request.values,
        MAX_WRITE_QUANTITY,
      );
    }
    case 'mcubus':
      if (request.function !== FunctionCode.MCUBUS) return badFunction(request);
      return encodeTunnelData(request.frame);
    default:
      return err(
        modbusError('unknown_function', `unknown request kind ${(request as { kind: unknown }).kind}`),
      );
  }
}
