import { type CodedError, codedError } from '../result.js';

/**
 * Why a Modbus input (or an argument to an encoder) was rejected. One code per cause so that the
 * counters say what went wrong on the line.
 */
export type ModbusErrorCode =
  /** Fewer bytes than the layout needs (ADU shorter than 4 bytes, or a PDU cut short). */
  | 'truncated'
  /** More than 256 ADU bytes, or a tunnelled frame longer than 251 bytes. */
  | 'oversize'
  /** The CRC does not match the bytes. */
  | 'bad_crc'
  /** Slave address 248..255, which Modbus reserves. */
  | 'reserved_address'
  /** A response that claims to come from address 0: broadcasts are never answered. */
  | 'broadcast_response'
  /** A function code that is not supported in this direction. */
  | 'unknown_function'
  /** A register quantity outside the function's range (1..125 reads, 1..123 writes). */
  | 'bad_quantity'
  /** A byte count that contradicts the quantity, is odd, or does not fit. */
  | 'bad_byte_count'
  /** More PDU bytes than the function's layout has room for. */
  | 'bad_length'
  /** Exception code 0, which no exception uses. */
  | 'bad_exception_code'
  /** An encoder argument that cannot be represented (not an integer, out of its field's range). */
  | 'bad_value'
  /** The line fell silent (≥ t3.5) before the ADU in progress was complete. */
  | 'incomplete';

export type ModbusError = CodedError<ModbusErrorCode>;

export function modbusError(code: ModbusErrorCode, message: string): ModbusError {
  return codedError(code, message);
}
