import type { ModbusErrorCode } from './errors.js';
import { EXCEPTION_FLAG } from './functions.js';
import type { ExceptionResponse } from './messages.js';

/** The exception codes the Modbus application protocol defines. */
export const ExceptionCode = {
  ILLEGAL_FUNCTION: 0x01,
  ILLEGAL_DATA_ADDRESS: 0x02,
  ILLEGAL_DATA_VALUE: 0x03,
  SERVER_DEVICE_FAILURE: 0x04,
  ACKNOWLEDGE: 0x05,
  /** mcubus: the device's receive queue is full; the master resends the frame later. */
  SERVER_DEVICE_BUSY: 0x06,
  MEMORY_PARITY_ERROR: 0x08,
  GATEWAY_PATH_UNAVAILABLE: 0x0a,
  GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND: 0x0b,
} as const;

const NAMES: ReadonlyMap<number, string> = new Map([
  [0x01, 'illegal_function'],
  [0x02, 'illegal_data_address'],
  [0x03, 'illegal_data_value'],
  [0x04, 'server_device_failure'],
  [0x05, 'acknowledge'],
  [0x06, 'server_device_busy'],
  [0x08, 'memory_parity_error'],
  [0x0a, 'gateway_path_unavailable'],
  [0x0b, 'gateway_target_device_failed_to_respond'],
]);

/** snake_case name of a defined exception code; undefined for codes Modbus does not define. */
export function exceptionName(code: number): string | undefined {
  return NAMES.get(code);
}

/** Builds the exception response to a request with function code `requestFunction`. */
export function exceptionResponse(address: number, requestFunction: number, code: number): ExceptionResponse {
  return { address, kind: 'exception', function: (requestFunction | EXCEPTION_FLAG) & 0xff, code };
}

/**
 * The exception a slave answers to a unicast request whose CRC was good but whose PDU did not
 * decode; undefined when Modbus says to stay silent (the slave cannot trust the frame).
 */
export function exceptionForRequestError(code: ModbusErrorCode): number | undefined {
  switch (code) {
    case 'unknown_function':
      return ExceptionCode.ILLEGAL_FUNCTION;
    case 'bad_quantity':
    case 'bad_byte_count':
    case 'bad_length':
    case 'truncated':
      return ExceptionCode.ILLEGAL_DATA_VALUE;
    default:
      return undefined;
  }
}
