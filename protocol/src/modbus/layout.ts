import { err, ok, type Result } from '../result.js';
import { isU16, readU16, writeU16 } from './bytes.js';
import { type ModbusError, modbusError } from './errors.js';
import { MAX_READ_QUANTITY } from './functions.js';

/** Exactly `expected` data bytes: fewer is truncated, more is bad_length. */
export function checkDataLength(data: Uint8Array, expected: number): ModbusError | undefined {
  if (data.length < expected) {
    return modbusError('truncated', `${data.length} data bytes; the layout needs ${expected}`);
  }
  if (data.length > expected) {
    return modbusError('bad_length', `${data.length} data bytes; the layout has ${expected}`);
  }
  return undefined;
}

export function checkQuantity(quantity: number, max: number): ModbusError | undefined {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > max) {
    return modbusError('bad_quantity', `quantity ${quantity} is not 1..${max}`);
  }
  return undefined;
}

export function checkU16(name: string, value: number): ModbusError | undefined {
  return isU16(value) ? undefined : modbusError('bad_value', `${name} ${value} is not 0..65535`);
}

/** Big-endian u16 fields, in order. */
export function u16Fields(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  for (const [i, v] of values.entries()) writeU16(out, i * 2, v);
  return out;
}

/** `byte count (1) | registers (2 each)`, preceded by `prefix`, as in 0x03/0x04 responses and 0x10 requests. */
export function encodeCountedRegisters(
  prefix: Uint8Array,
  registers: readonly number[],
  maxQuantity: number,
): Result<Uint8Array, ModbusError> {
  const quantityError = checkQuantity(registers.length, maxQuantity);
  if (quantityError) return err(quantityError);
  const out = new Uint8Array(prefix.length + 1 + registers.length * 2);
  out.set(prefix, 0);
  out[prefix.length] = registers.length * 2;
  for (const [i, value] of registers.entries()) {
    const valueError = checkU16(`register ${i}`, value);
    if (valueError) return err(valueError);
    writeU16(out, prefix.length + 1 + i * 2, value);
  }
  return ok(out);
}

export function readRegisters(data: Uint8Array, offset: number, quantity: number): number[] {
  const registers: number[] = [];
  for (let i = 0; i < quantity; i++) registers.push(readU16(data, offset + i * 2));
  return registers;
}

/** An encoder was handed a `function` that does not belong to the message's `kind`. */
export function badFunction(message: { kind: string; function: number }): Result<never, ModbusError> {
  return err(modbusError('bad_value', `function ${message.function} does not fit kind ${message.kind}`));
}

/** A read response's byte count: twice a quantity of 1..125. */
export function isReadByteCount(byteCount: number): boolean {
  return byteCount >= 2 && byteCount <= MAX_READ_QUANTITY * 2 && byteCount % 2 === 0;
}
