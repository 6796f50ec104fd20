import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16Modbus, decodeAdu, encodeAdu, MAX_ADU_LENGTH } from '../src/modbus/index.js';

const fromHex = (s: string): Uint8Array =>
  Uint8Array.from(s.split(/\s+/).filter(Boolean), (h) => Number.parseInt(h, 16));

/** Bit-by-bit CRC-16/MODBUS straight from the definition, to check the table-driven one against. */
function crcBitwise(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

describe('crc16Modbus', () => {
  it('gives the catalogue check value 0x4B37 for "123456789"', () => {
    expect(crc16Modbus(new TextEncoder().encode('123456789'))).toBe(0x4b37);
  });

  it('is the initial value 0xFFFF for no bytes (no final xor)', () => {
    expect(crc16Modbus(new Uint8Array(0))).toBe(0xffff);
  });

  it('matches the CRC of published RTU frames (sent low byte first)', () => {
    // 01 03 00 6B 00 03 | 74 17 -> CRC 0x1774
    expect(crc16Modbus(fromHex('01 03 00 6b 00 03'))).toBe(0x1774);
    expect(crc16Modbus(fromHex('11 06 00 01 00 03'))).toBe(0x9b9a);
  });

  it('over a range equals the CRC of that slice', () => {
    const bytes = fromHex('aa bb 01 03 00 6b 00 03 cc');
    expect(crc16Modbus(bytes, 2, 8)).toBe(0x1774);
  });

  it('equals the bitwise definition for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => crc16Modbus(bytes) === crcBitwise(bytes)),
      { numRuns: 10000 },
    );
  });
});

describe('encodeAdu', () => {
  it('lays out address, function, data and the CRC low byte first', () => {
    const adu = encodeAdu(1, 0x03, fromHex('00 6b 00 03'));
    expect(adu).toEqual({ ok: true, value: fromHex('01 03 00 6b 00 03 74 17') });
  });

  it('encodes a function with no data in 4 bytes', () => {
    const adu = encodeAdu(0x11, 0x41, new Uint8Array(0));
    expect(adu.ok && adu.value.length).toBe(4);
  });

  it('accepts 252 data bytes (256-byte ADU) and refuses 253', () => {
    const max = encodeAdu(1, 0x41, new Uint8Array(252));
    expect(max.ok && max.value.length).toBe(MAX_ADU_LENGTH);
    const over = encodeAdu(1, 0x41, new Uint8Array(253));
    expect(!over.ok && over.error.code).toBe('oversize');
  });

  it.each([
    [248, 'reserved_address'],
    [255, 'reserved_address'],
    [256, 'bad_value'],
    [-1, 'bad_value'],
    [1.5, 'bad_value'],
  ])('refuses address %s with %s', (address, code) => {
    const adu = encodeAdu(address, 0x03, new Uint8Array(4));
    expect(!adu.ok && adu.error.code).toBe(code);
  });

  it('refuses function code 0 and non-bytes', () => {
    for (const fn of [0, 256, -3]) {
      const adu = encodeAdu(1, fn, new Uint8Array(0));
      expect(!adu.ok && adu.error.code).toBe('bad_value');
    }
  });
});

describe('decodeAdu', () => {
  it('decodes the classic read-holding-registers request', () => {
    const adu = decodeAdu(fromHex('01 03 00 6b 00 03 74 17'));
    expect(adu).toEqual({ ok: true, value: { address: 1, function: 3, data: fromHex('00 6b 00 03') } });
  });

  it('decodes broadcast (address 0) and the highest unicast address 247', () => {
    for (const address of [0, 247]) {
      const bytes = encodeAdu(address, 0x06, fromHex('00 01 00 02'));
      if (!bytes.ok) throw new Error(bytes.error.message);
      const adu = decodeAdu(bytes.value);
      expect(adu.ok && adu.value.address).toBe(address);
    }
  });

  it('reports fewer than 4 bytes as truncated', () => {
    for (const hex of ['', '01', '01 03', '01 03 00']) {
      const adu = decodeAdu(fromHex(hex));
      expect(!adu.ok && adu.error.code).toBe('truncated');
    }
  });

  it('reports more than 256 bytes as oversize', () => {
    const adu = decodeAdu(new Uint8Array(257));
    expect(!adu.ok && adu.error.code).toBe('oversize');
  });

  it('reports a flipped bit anywhere as bad_crc', () => {
    const good = fromHex('01 03 00 6b 00 03 74 17');
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i]! ^= 0x10;
      const adu = decodeAdu(bad);
      expect(!adu.ok && adu.error.code).toBe('bad_crc');
    }
  });

  it('reports the CRC sent high byte first as bad_crc', () => {
    const adu = decodeAdu(fromHex('01 03 00 6b 00 03 17 74'));
    expect(!adu.ok && adu.error.code).toBe('bad_crc');
  });

  it('reports addresses 248..255 as reserved_address', () => {
    for (let address = 248; address <= 255; address++) {
      const bytes = fromHex(`${address.toString(16)} 41 00`);
      const crc = crc16Modbus(bytes);
      const adu = decodeAdu(Uint8Array.of(...bytes, crc & 0xff, crc >>> 8));
      expect(!adu.ok && adu.error.code).toBe('reserved_address');
    }
  });

  it('copies the data out of a Node Buffer too (whose slice() is a view)', () => {
    const bytes = Buffer.from('0103006b00037417', 'hex');
    const adu = decodeAdu(bytes);
    bytes.fill(0);
    expect(adu.ok && Array.from(adu.value.data)).toEqual([0x00, 0x6b, 0x00, 0x03]);
  });

  it('copies the data, so reusing the input buffer cannot change a decoded ADU', () => {
    const bytes = fromHex('01 03 00 6b 00 03 74 17');
    const adu = decodeAdu(bytes);
    bytes.fill(0);
    expect(adu.ok && Array.from(adu.value.data)).toEqual([0x00, 0x6b, 0x00, 0x03]);
  });
});
