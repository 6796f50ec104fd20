import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type ModbusErrorCode,
  type ModbusRequest,
  type ModbusResponse,
} from '../src/modbus/index.js';

interface Vector {
  readonly name: string;
  readonly direction: 'request' | 'response';
  readonly hex: string;
  readonly decoded?: Record<string, unknown>;
  readonly error?: ModbusErrorCode;
}

const suite = JSON.parse(readFileSync(new URL('../vectors/modbus.json', import.meta.url), 'utf8')) as {
  suite: string;
  description: string;
  vectors: Vector[];
};

// Shared vector conventions (vectors/README.md): bytes as lowercase hex without separators, a byte
// string inside decoded values as {"$hex": "..."}.
const fromHex = (s: string): Uint8Array =>
  Uint8Array.from(s.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** A decoded message in the vectors' JSON form. */
function jsonForm(message: ModbusRequest | ModbusResponse): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(message).map(([key, value]) => [
      key,
      value instanceof Uint8Array ? { $hex: toHex(value) } : value,
    ]),
  );
}

/** The inverse of jsonForm, so that every "decoded" can be encoded back. */
function messageForm(decoded: Record<string, unknown>): ModbusRequest & ModbusResponse {
  const frame = decoded.frame as { $hex: string } | null | undefined;
  return { ...decoded, ...(frame ? { frame: fromHex(frame.$hex) } : {}) } as ModbusRequest & ModbusResponse;
}

describe('modbus golden vectors', () => {
  it('is the modbus suite, and covers every function, exceptions and every decode error', () => {
    expect(suite.suite).toBe('modbus');
    const functions = new Set(suite.vectors.map((v) => v.decoded?.function));
    for (const fn of [0x03, 0x04, 0x06, 0x10, 0x41, 0x83, 0xc1]) expect(functions).toContain(fn);
    const errors = new Set(suite.vectors.map((v) => v.error));
    for (const code of [
      'bad_crc',
      'truncated',
      'oversize',
      'bad_quantity',
      'bad_byte_count',
      'bad_length',
      'reserved_address',
      'unknown_function',
      'broadcast_response',
      'bad_exception_code',
    ]) {
      expect(errors).toContain(code);
    }
  });

  it.each(suite.vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    expect(vector.hex).toMatch(/^([0-9a-f]{2})*$/);
    expect(vector.decoded === undefined).not.toBe(vector.error === undefined);
    const bytes = fromHex(vector.hex);
    const decoded = vector.direction === 'request' ? decodeRequest(bytes) : decodeResponse(bytes);
    if (vector.error !== undefined) {
      expect(decoded.ok ? 'decoded' : decoded.error.code).toBe(vector.error);
      return;
    }
    if (!decoded.ok) throw new Error(`${decoded.error.code}: ${decoded.error.message}`);
    expect(jsonForm(decoded.value)).toEqual(vector.decoded);
    const message = messageForm(vector.decoded!);
    const encoded = vector.direction === 'request' ? encodeRequest(message) : encodeResponse(message);
    expect(encoded.ok && toHex(encoded.value)).toBe(vector.hex);
  });
});
