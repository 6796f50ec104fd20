import { describe, expect, it } from 'vitest';
import {
  crc16Modbus,
  decodeRequest,
  decodeResponse,
  ExceptionCode,
  encodeRequest,
  encodeResponse,
  exceptionForRequestError,
  exceptionName,
  exceptionResponse,
  type ModbusRequest,
  type ModbusResponse,
  requestFromAdu,
  responseFromAdu,
} from '../src/modbus/index.js';

const fromHex = (s: string): Uint8Array =>
  Uint8Array.from(s.split(/\s+/).filter(Boolean), (h) => Number.parseInt(h, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const withCrc = (hex: string): Uint8Array => {
  const b = fromHex(hex);
  const crc = crc16Modbus(b);
  return Uint8Array.of(...b, crc & 0xff, crc >>> 8);
};

function requestHex(request: ModbusRequest): string {
  const r = encodeRequest(request);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return toHex(r.value);
}

function responseHex(response: ModbusResponse): string {
  const r = encodeResponse(response);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return toHex(r.value);
}

function requestError(request: ModbusRequest): string {
  const r = encodeRequest(request);
  return r.ok ? `encoded ${toHex(r.value)}` : r.error.code;
}

function responseError(response: ModbusResponse): string {
  const r = encodeResponse(response);
  return r.ok ? `encoded ${toHex(r.value)}` : r.error.code;
}

function decodedRequestError(bytes: Uint8Array): string {
  const r = decodeRequest(bytes);
  return r.ok ? `decoded ${r.value.kind}` : r.error.code;
}

function decodedResponseError(bytes: Uint8Array): string {
  const r = decodeResponse(bytes);
  return r.ok ? `decoded ${r.value.kind}` : r.error.code;
}

// Expected bytes are published RTU examples (CRCs independently known); see also vectors/modbus.json.

describe('0x03 / 0x04 read registers', () => {
  const request: ModbusRequest = {
    address: 17,
    kind: 'read_registers',
    function: 3,
    start: 0x6b,
    quantity: 3,
  };

  it('encodes and decodes the request', () => {
    expect(requestHex(request)).toBe('11 03 00 6b 00 03 76 87');
    expect(decodeRequest(fromHex('11 03 00 6b 00 03 76 87'))).toEqual({ ok: true, value: request });
    expect(requestHex({ ...request, function: 4, start: 8, quantity: 1 })).toBe('11 04 00 08 00 01 b2 98');
  });

  it('encodes and decodes the response, whose byte count is twice the quantity', () => {
    const response: ModbusResponse = {
      address: 17,
      kind: 'read_registers',
      function: 3,
      registers: [0xae41, 0x5652, 0x4340],
    };
    expect(responseHex(response)).toBe('11 03 06 ae 41 56 52 43 40 49 ad');
    expect(decodeResponse(fromHex('11 03 06 ae 41 56 52 43 40 49 ad'))).toEqual({
      ok: true,
      value: response,
    });
    expect(responseHex({ address: 17, kind: 'read_registers', function: 4, registers: [10] })).toBe(
      '11 04 02 00 0a f8 f4',
    );
  });

  it('takes quantities 1..125 and refuses 0 and 126 both ways', () => {
    expect(requestHex({ ...request, quantity: 1 })).toBe('11 03 00 6b 00 01 f7 46');
    expect(decodeRequest(withCrc('11 03 00 6b 00 7d')).ok).toBe(true);
    expect(requestError({ ...request, quantity: 0 })).toBe('bad_quantity');
    expect(requestError({ ...request, quantity: 126 })).toBe('bad_quantity');
    expect(decodedRequestError(withCrc('11 03 00 6b 00 00'))).toBe('bad_quantity');
    expect(decodedRequestError(withCrc('11 04 00 6b 00 7e'))).toBe('bad_quantity');
    const registers = Array.from({ length: 125 }, (_, i) => i);
    expect(encodeResponse({ address: 1, kind: 'read_registers', function: 3, registers }).ok).toBe(true);
    expect(
      responseError({ address: 1, kind: 'read_registers', function: 3, registers: [...registers, 0] }),
    ).toBe('bad_quantity');
    expect(responseError({ address: 1, kind: 'read_registers', function: 3, registers: [] })).toBe(
      'bad_quantity',
    );
  });

  it('refuses a request whose layout is cut short or too long', () => {
    expect(decodedRequestError(withCrc('11 03 00 6b 00'))).toBe('truncated');
    expect(decodedRequestError(withCrc('11 03 00 6b 00 03 00'))).toBe('bad_length');
  });

  it('refuses response byte counts that are odd, 0, above 250 or longer than the data', () => {
    expect(decodedResponseError(withCrc('11 03 03 ae 41 56'))).toBe('bad_byte_count');
    expect(decodedResponseError(withCrc('11 03 00'))).toBe('bad_byte_count');
    expect(decodedResponseError(withCrc('11 03 fc 00 01 02 03'))).toBe('bad_byte_count');
    expect(decodedResponseError(withCrc('11 03 06 ae 41 56 52'))).toBe('truncated');
    expect(decodedResponseError(withCrc('11 03 02 ae 41 56 52'))).toBe('bad_length');
    expect(decodedResponseError(withCrc('11 03'))).toBe('truncated');
  });

  it('refuses register values that are not 16-bit', () => {
    expect(requestError({ ...request, start: 0x10000 })).toBe('bad_value');
    expect(responseError({ address: 1, kind: 'read_registers', function: 3, registers: [1, -1] })).toBe(
      'bad_value',
    );
  });
});

describe('0x06 write single register', () => {
  const write: ModbusRequest = {
    address: 17,
    kind: 'write_single_register',
    function: 6,
    register: 1,
    value: 3,
  };

  it('has the same bytes as request and as echoed response', () => {
    expect(requestHex(write)).toBe('11 06 00 01 00 03 9a 9b');
    expect(responseHex(write)).toBe('11 06 00 01 00 03 9a 9b');
    expect(decodeRequest(fromHex('11 06 00 01 00 03 9a 9b'))).toEqual({ ok: true, value: write });
    expect(decodeResponse(fromHex('11 06 00 01 00 03 9a 9b'))).toEqual({ ok: true, value: write });
  });

  it('writes the full 16-bit range big-endian', () => {
    expect(requestHex({ ...write, register: 0xabcd, value: 0xffff }).slice(0, 17)).toBe('11 06 ab cd ff ff');
    expect(requestError({ ...write, value: 0x10000 })).toBe('bad_value');
  });

  it('refuses a PDU of the wrong length', () => {
    expect(decodedRequestError(withCrc('11 06 00 01 00'))).toBe('truncated');
    expect(decodedResponseError(withCrc('11 06 00 01 00 03 00'))).toBe('bad_length');
  });
});

describe('0x10 write multiple registers', () => {
  const write: ModbusRequest = {
    address: 17,
    kind: 'write_multiple_registers',
    function: 0x10,
    start: 1,
    values: [0x000a, 0x0102],
  };

  it('encodes and decodes the request with quantity and byte count', () => {
    expect(requestHex(write)).toBe('11 10 00 01 00 02 04 00 0a 01 02 c6 f0');
    expect(decodeRequest(fromHex('11 10 00 01 00 02 04 00 0a 01 02 c6 f0'))).toEqual({
      ok: true,
      value: write,
    });
  });

  it('encodes and decodes the response (start and quantity)', () => {
    const response: ModbusResponse = {
      address: 17,
      kind: 'write_multiple_registers',
      function: 0x10,
      start: 1,
      quantity: 2,
    };
    expect(responseHex(response)).toBe('11 10 00 01 00 02 12 98');
    expect(decodeResponse(fromHex('11 10 00 01 00 02 12 98'))).toEqual({ ok: true, value: response });
    expect(responseError({ ...response, quantity: 124 })).toBe('bad_quantity');
    expect(decodedResponseError(withCrc('11 10 00 01 00 00'))).toBe('bad_quantity');
  });

  it('takes 1..123 values', () => {
    const values = Array.from({ length: 123 }, (_, i) => i * 3);
    const max = encodeRequest({ ...write, values });
    expect(max.ok && max.value.length).toBe(255);
    expect(requestError({ ...write, values: [...values, 1] })).toBe('bad_quantity');
    expect(requestError({ ...write, values: [] })).toBe('bad_quantity');
  });

  it('refuses a byte count that is not twice the quantity', () => {
    expect(decodedRequestError(withCrc('11 10 00 01 00 02 03 00 0a 01'))).toBe('bad_byte_count');
    expect(decodedRequestError(withCrc('11 10 00 01 00 02 06 00 0a 01 02 00 00'))).toBe('bad_byte_count');
  });

  it('refuses a request cut short, or with more values than counted', () => {
    expect(decodedRequestError(withCrc('11 10 00 01 00 02'))).toBe('truncated');
    expect(decodedRequestError(withCrc('11 10 00 01 00 02 04 00 0a 01'))).toBe('truncated');
    expect(decodedRequestError(withCrc('11 10 00 01 00 02 04 00 0a 01 02 03'))).toBe('bad_length');
  });

  it('checks the quantity before the byte count and the length', () => {
    expect(decodedRequestError(withCrc(`11 10 00 00 00 7c f8 ${toHex(new Uint8Array(240))}`))).toBe(
      'bad_quantity',
    );
  });
});

describe('exception responses', () => {
  it('decode for any function with bit 7 set, keeping the code', () => {
    expect(decodeResponse(fromHex('01 83 02 c0 f1'))).toEqual({
      ok: true,
      value: { address: 1, kind: 'exception', function: 0x83, code: 2 },
    });
    expect(decodeResponse(fromHex('0a 81 02 b0 53'))).toEqual({
      ok: true,
      value: { address: 10, kind: 'exception', function: 0x81, code: 2 },
    });
  });

  it('are built from the request function and encoded', () => {
    const busy = exceptionResponse(17, 0x41, ExceptionCode.SERVER_DEVICE_BUSY);
    expect(busy).toEqual({ address: 17, kind: 'exception', function: 0xc1, code: 6 });
    expect(responseHex(busy)).toBe(toHex(withCrc('11 c1 06')));
  });

  it('have names for the defined codes', () => {
    expect(exceptionName(1)).toBe('illegal_function');
    expect(exceptionName(2)).toBe('illegal_data_address');
    expect(exceptionName(3)).toBe('illegal_data_value');
    expect(exceptionName(4)).toBe('server_device_failure');
    expect(exceptionName(6)).toBe('server_device_busy');
    expect(exceptionName(0x0b)).toBe('gateway_target_device_failed_to_respond');
    expect(exceptionName(7)).toBeUndefined();
  });

  it('refuse code 0, a function without bit 7 and a wrong length', () => {
    expect(decodedResponseError(withCrc('01 83 00'))).toBe('bad_exception_code');
    expect(responseError({ address: 1, kind: 'exception', function: 0x83, code: 0 })).toBe(
      'bad_exception_code',
    );
    expect(responseError({ address: 1, kind: 'exception', function: 0x03, code: 2 })).toBe('bad_value');
    expect(decodedResponseError(withCrc('01 83'))).toBe('truncated');
    expect(decodedResponseError(withCrc('01 83 02 00'))).toBe('bad_length');
    expect(decodedResponseError(withCrc('01 80 02'))).toBe('unknown_function');
  });

  it('are not requests', () => {
    expect(decodedRequestError(withCrc('01 83 02'))).toBe('unknown_function');
  });

  it('are what a slave answers to a request that does not decode', () => {
    expect(exceptionForRequestError('unknown_function')).toBe(ExceptionCode.ILLEGAL_FUNCTION);
    expect(exceptionForRequestError('bad_quantity')).toBe(ExceptionCode.ILLEGAL_DATA_VALUE);
    expect(exceptionForRequestError('bad_byte_count')).toBe(ExceptionCode.ILLEGAL_DATA_VALUE);
    expect(exceptionForRequestError('bad_crc')).toBeUndefined();
  });
});

describe('0x41 mcubus tunnel', () => {
  const frame = fromHex('a5 5a 01 02 03 04');

  it('carries nothing as count 0', () => {
    const poll: ModbusRequest = { address: 17, kind: 'mcubus', function: 0x41, frame: null };
    expect(requestHex(poll)).toBe('11 41 00 11 95');
    expect(decodeRequest(fromHex('11 41 00 11 95'))).toEqual({ ok: true, value: poll });
    expect(decodeResponse(fromHex('11 41 00 11 95'))).toEqual({ ok: true, value: poll });
  });

  it('carries one frame after its count', () => {
    const request: ModbusRequest = { address: 17, kind: 'mcubus', function: 0x41, frame };
    const hex = requestHex(request);
    expect(hex.slice(0, 26)).toBe('11 41 06 a5 5a 01 02 03 04');
    expect(decodeRequest(fromHex(hex))).toEqual({ ok: true, value: request });
    expect(responseHex(request)).toBe(hex);
  });

  it('carries up to 251 bytes in a 256-byte ADU', () => {
    const full = Uint8Array.from({ length: 251 }, (_, i) => 255 - i);
    const bytes = encodeRequest({ address: 1, kind: 'mcubus', function: 0x41, frame: full });
    expect(bytes.ok && bytes.value.length).toBe(256);
    const decoded = bytes.ok ? decodeResponse(bytes.value) : undefined;
    expect(decoded?.ok && decoded.value.kind === 'mcubus' && decoded.value.frame).toEqual(full);
  });

  it('refuses a 252-byte frame on encode and on decode', () => {
    const big = new Uint8Array(252);
    expect(requestError({ address: 1, kind: 'mcubus', function: 0x41, frame: big })).toBe('oversize');
    expect(responseError({ address: 1, kind: 'mcubus', function: 0x41, frame: big })).toBe('oversize');
    expect(decodedRequestError(withCrc(`01 41 fc ${toHex(big)}`))).toBe('oversize');
    expect(decodedResponseError(withCrc('01 41 fc 00'))).toBe('bad_byte_count');
  });

  it('refuses an empty frame (null means nothing)', () => {
    expect(requestError({ address: 1, kind: 'mcubus', function: 0x41, frame: new Uint8Array(0) })).toBe(
      'bad_value',
    );
  });

  it('refuses a count that disagrees with the data', () => {
    expect(decodedRequestError(withCrc('11 41 04 aa bb'))).toBe('truncated');
    expect(decodedResponseError(withCrc('11 41 01 aa bb'))).toBe('bad_length');
    expect(decodedRequestError(withCrc('11 41'))).toBe('truncated');
  });

  it('may be broadcast as a request, never as a response', () => {
    const broadcast: ModbusRequest = { address: 0, kind: 'mcubus', function: 0x41, frame };
    expect(decodeRequest(fromHex(requestHex(broadcast)))).toEqual({ ok: true, value: broadcast });
    expect(responseError(broadcast)).toBe('broadcast_response');
    expect(decodedResponseError(withCrc('00 41 00'))).toBe('broadcast_response');
  });
});

describe('requests and responses', () => {
  it('refuse functions mcubus does not use', () => {
    expect(decodedRequestError(withCrc('01 05 00 00 ff 00'))).toBe('unknown_function');
    expect(decodedResponseError(withCrc('01 01 01 00'))).toBe('unknown_function');
    expect(requestFromAdu({ address: 1, function: 0, data: new Uint8Array(0) })).toMatchObject({
      ok: false,
      error: { code: 'unknown_function' },
    });
  });

  it('refuse a function that does not fit the kind', () => {
    const wrong = {
      address: 1,
      kind: 'read_registers',
      function: 6,
      start: 0,
      quantity: 1,
    } as unknown as ModbusRequest;
    expect(requestError(wrong)).toBe('bad_value');
  });

  it('pass ADU errors through', () => {
    expect(decodedRequestError(fromHex('01 03 00 6b 00 03 74 16'))).toBe('bad_crc');
    expect(decodedResponseError(withCrc('f8 41 00'))).toBe('reserved_address');
  });

  it('decode an ADU the framer delivered', () => {
    const adu = { address: 5, function: 0x41, data: fromHex('02 aa bb') };
    expect(responseFromAdu(adu)).toEqual({
      ok: true,
      value: { address: 5, kind: 'mcubus', function: 0x41, frame: fromHex('aa bb') },
    });
  });
});

describe('the worked example of the spec (docs/parts/modbus.md §8.12)', () => {
  const ping = fromHex('01 08 21 00 08 04 01 00 a1 01 07 af e1 fd e7');
  const pong = fromHex('01 09 00 21 08 05 01 00 a1 01 07 5b 18 8e 99');

  it('has the bytes the spec shows', () => {
    expect(requestHex({ address: 0x21, kind: 'mcubus', function: 0x41, frame: ping })).toBe(
      '21 41 0f 01 08 21 00 08 04 01 00 a1 01 07 af e1 fd e7 a8 4d',
    );
    expect(responseHex({ address: 0x21, kind: 'mcubus', function: 0x41, frame: null })).toBe(
      '21 41 00 11 9a',
    );
    expect(responseHex({ address: 0x21, kind: 'mcubus', function: 0x41, frame: pong })).toBe(
      '21 41 0f 01 09 00 21 08 05 01 00 a1 01 07 5b 18 8e 99 bf c5',
    );
    expect(responseHex(exceptionResponse(0x21, 0x41, ExceptionCode.SERVER_DEVICE_BUSY))).toBe(
      '21 c1 06 f0 58',
    );
  });
});
