import { describe, expect, it } from 'vitest';
import { crc32c, crc32cFinish, crc32cInit, crc32cUpdate } from '../src/index.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('CRC-32C', () => {
  it('gives the catalogue check value for "123456789"', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  it('matches the RFC 3720 (iSCSI) test patterns', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  });

  it('gives the same result when fed in pieces', () => {
    const data = ascii('mcubus frames are checked end to end');
    let state = crc32cInit;
    state = crc32cUpdate(state, data, 0, 10);
    state = crc32cUpdate(state, data, 10, data.length);
    expect(crc32cFinish(state)).toBe(crc32c(data));
  });
});
