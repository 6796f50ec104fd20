/** The function codes mcubus uses, and the limits of their layouts. */
export const FunctionCode = {
  READ_HOLDING_REGISTERS: 0x03,
  READ_INPUT_REGISTERS: 0x04,
  WRITE_SINGLE_REGISTER: 0x06,
  WRITE_MULTIPLE_REGISTERS: 0x10,
  /** User-defined (Modbus reserves 65..72 and 100..110 for users): the mcubus tunnel. */
  MCUBUS: 0x41,
} as const;

/** Bit 7 of the function code marks an exception response. */
export const EXCEPTION_FLAG = 0x80;

/** 125 registers = 250 bytes, the most a read response's byte count can describe in one PDU. */
export const MAX_READ_QUANTITY = 125;
/** 123 registers = 246 bytes, what fits in a write request after start, quantity and count. */
export const MAX_WRITE_QUANTITY = 123;
/** The tunnel's count byte leaves 251 of the 252 data bytes for the frame. */
export const MAX_TUNNEL_FRAME_LENGTH = 251;
