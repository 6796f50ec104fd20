/**
 * Decoded Modbus messages. A request and a response of the same function have different layouts,
 * so each has its own type. `function` is always the function code byte as sent; `kind` names the
 * layout. Every message carries the slave address of its ADU, so encode(decode(x)) is x.
 */

export interface ReadRegistersRequest {
  readonly address: number;
  readonly kind: 'read_registers';
  /** 0x03 holding registers, 0x04 input registers. */
  readonly function: 0x03 | 0x04;
  readonly start: number;
  /** 1..125 */
  readonly quantity: number;
}

/** Request and response have the same layout: the response echoes the request. */
export interface WriteSingleRegister {
  readonly address: number;
  readonly kind: 'write_single_register';
  readonly function: 0x06;
  readonly register: number;
  readonly value: number;
}

export interface WriteMultipleRegistersRequest {
  readonly address: number;
  readonly kind: 'write_multiple_registers';
  readonly function: 0x10;
  readonly start: number;
  /** 1..123 values; the quantity and byte count on the wire follow from the length. */
  readonly values: readonly number[];
}

/** Tunnel PDU, same layout in both directions. */
export interface McubusTunnel {
  readonly address: number;
  readonly kind: 'mcubus';
  readonly function: 0x41;
  /** One opaque mcubus frame of 1..251 bytes, or null for "nothing" (count 0 on the wire). */
  readonly frame: Uint8Array | null;
}

export type ModbusRequest =
  | ReadRegistersRequest
  | WriteSingleRegister
  | WriteMultipleRegistersRequest
  | McubusTunnel;

export interface ReadRegistersResponse {
  readonly address: number;
  readonly kind: 'read_registers';
  readonly function: 0x03 | 0x04;
  /** 1..125 registers; the byte count on the wire is twice the length. */
  readonly registers: readonly number[];
}

export interface WriteMultipleRegistersResponse {
  readonly address: number;
  readonly kind: 'write_multiple_registers';
  readonly function: 0x10;
  readonly start: number;
  readonly quantity: number;
}

export interface ExceptionResponse {
  readonly address: number;
  readonly kind: 'exception';
  /** The request's function code with bit 7 set, e.g. 0x83 for a refused 0x03. */
  readonly function: number;
  /** 1..255; see ExceptionCode for the defined ones. */
  readonly code: number;
}

export type ModbusResponse =
  | ReadRegistersResponse
  | WriteSingleRegister
  | WriteMultipleRegistersResponse
  | McubusTunnel
  | ExceptionResponse;
