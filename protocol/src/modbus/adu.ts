import { err, ok, type Result } from '../result.js';
import { copyBytes, isU8 } from './bytes.js';
import { crc16Modbus } from './crc16.js';
import { type ModbusError, modbusError } from './errors.js';

/**
 * The RTU application data unit: `address (1) | function (1) | data (0..252) | CRC (2, low byte
 * first)`. This layer knows nothing about function layouts; see request.ts and response.ts.
 */
export interface Adu {
  /** 0 = broadcast, 1..247 = one slave. */
  readonly address: number;
  /** The function code byte as sent (bit 7 set on exception responses). */
  readonly function: number;
  /** The PDU after the function code; a copy, never a view into the caller's buffer. */
  readonly data: Uint8Array;
}

export const BROADCAST_ADDRESS = 0;
export const MIN_UNICAST_ADDRESS = 1;
export const MAX_UNICAST_ADDRESS = 247;
/** address + function + CRC. */
export const MIN_ADU_LENGTH = 4;
export const MAX_ADU_LENGTH = 256;
export const MAX_PDU_DATA_LENGTH = MAX_ADU_LENGTH - MIN_ADU_LENGTH;
export const CRC_LENGTH = 2;

export function isReservedAddress(address: number): boolean {
  return address > MAX_UNICAST_ADDRESS;
}

/** Whether `bytes[start, end)` ends in the CRC of what precedes it. */
export function hasValidCrc(bytes: Uint8Array, start: number, end: number): boolean {
  const crc = crc16Modbus(bytes, start, end - CRC_LENGTH);
  return (bytes[end - 2] ?? -1) === (crc & 0xff) && (bytes[end - 1] ?? -1) === crc >>> 8;
}

export function encodeAdu(address: number, fn: number, data: Uint8Array): Result<Uint8Array, ModbusError> {
  if (!isU8(address)) return err(modbusError('bad_value', `address ${address} is not a byte`));
  if (isReservedAddress(address)) {
    return err(modbusError('reserved_address', `address ${address} is reserved (248..255)`));
  }
  if (!isU8(fn) || fn === 0) return err(modbusError('bad_value', `function code ${fn} is not 1..255`));
  if (data.length > MAX_PDU_DATA_LENGTH) {
    return err(modbusError('oversize', `${data.length} data bytes exceed ${MAX_PDU_DATA_LENGTH}`));
  }
  const adu = new Uint8Array(data.length + MIN_ADU_LENGTH);
  adu[0] = address;
  adu[1] = fn;
  adu.set(data, 2);
  const crc = crc16Modbus(adu, 0, adu.length - CRC_LENGTH);
  adu[adu.length - 2] = crc & 0xff;
  adu[adu.length - 1] = crc >>> 8;
  return ok(adu);
}

/**
 * Checks length, CRC and address of one complete ADU. The function code and data are not
 * interpreted here, so an ADU of a function mcubus does not know still decodes (a slave answers
 * it with exception 01).
 */
export function decodeAdu(bytes: Uint8Array): Result<Adu, ModbusError> {
  if (bytes.length < MIN_ADU_LENGTH) {
    return err(modbusError('truncated', `${bytes.length} bytes; an ADU has at least ${MIN_ADU_LENGTH}`));
  }
  if (bytes.length > MAX_ADU_LENGTH) {
    return err(modbusError('oversize', `${bytes.length} bytes; an ADU has at most ${MAX_ADU_LENGTH}`));
  }
  if (!hasValidCrc(bytes, 0, bytes.length)) return err(modbusError('bad_crc', 'CRC mismatch'));
  const address = bytes[0]!;
  if (isReservedAddress(address)) {
    return err(modbusError('reserved_address', `address ${address} is reserved (248..255)`));
  }
  return ok({ address, function: bytes[1]!, data: copyBytes(bytes, 2, bytes.length - CRC_LENGTH) });
}
