/** Modbus RTU carriage for mcubus: ADU codec, standard functions, the FC 0x41 tunnel, timing, framer. */
export {
  type Adu,
  BROADCAST_ADDRESS,
  decodeAdu,
  encodeAdu,
  MAX_ADU_LENGTH,
  MAX_PDU_DATA_LENGTH,
  MAX_UNICAST_ADDRESS,
  MIN_ADU_LENGTH,
  MIN_UNICAST_ADDRESS,
} from './adu.js';
export { CRC16_MODBUS_INIT, crc16Modbus } from './crc16.js';
export type { ModbusError, ModbusErrorCode } from './errors.js';
export { ExceptionCode, exceptionForRequestError, exceptionName, exceptionResponse } from './exceptions.js';
export { type Direction, expectedAduLength } from './expected-length.js';
export { type FramerCounter, type FramerRole, RtuFramer, type RtuFramerOptions } from './framer.js';
export {
  EXCEPTION_FLAG,
  FunctionCode,
  MAX_READ_QUANTITY,
  MAX_TUNNEL_FRAME_LENGTH,
  MAX_WRITE_QUANTITY,
} from './functions.js';
export type {
  ExceptionResponse,
  McubusTunnel,
  ModbusRequest,
  ModbusResponse,
  ReadRegistersRequest,
  ReadRegistersResponse,
  WriteMultipleRegistersRequest,
  WriteMultipleRegistersResponse,
  WriteSingleRegister,
} from './messages.js';
export { decodeRequest, encodeRequest, requestFromAdu } from './request.js';
export { decodeResponse, encodeResponse, responseFromAdu } from './response.js';
export {
  aduTimeUs,
  DEFAULT_LINE,
  DEFAULT_PROCESSING_US,
  DEFAULT_TURNAROUND_US,
  FIXED_T15_US,
  FIXED_T35_US,
  FIXED_TIMING_ABOVE_BAUD,
  type LineSettings,
  type Parity,
  type ResponseTimeoutOptions,
  type RtuTiming,
  responseTimeoutUs,
  rtuTiming,
} from './timing.js';
