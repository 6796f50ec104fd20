import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageFileError, parseIntelHex, readImageFile, readPublicKey } from '../src/update/image-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'mcubus-img-'));
  dirs.push(d);
  return d;
};

/** One Intel HEX record with its checksum. */
function rec(type: number, offset: number, data: number[]): string {
  const bytes = [data.length, offset >> 8, offset & 0xff, type, ...data];
  const sum = (0x100 - (bytes.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  return `:${[...bytes, sum].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('')}`;
}

describe('Intel HEX images', () => {
  it('places data records at their addresses, fills gaps with erased flash, honours extended addresses', () => {
    const text = [
      rec(0x04, 0, [0x08, 0x00]), // 0x0800_0000
      rec(0x00, 0x0000, [1, 2, 3, 4]),
      rec(0x00, 0x0008, [9, 9]),
      rec(0x05, 0, [0x08, 0, 0, 0x11]), // start address: ignored
      rec(0x01, 0, []),
    ].join('\r\n');
    expect([...parseIntelHex(text)]).toEqual([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 9, 9]);
  });

  it('refuses a bad checksum, a short record and a file without its end record, saying where', () => {
    const good = rec(0x00, 0, [1, 2]);
    const badSum = `${good.slice(0, -2)}00`;
    expect(() => parseIntelHex(`${badSum}\n${rec(1, 0, [])}`, 'a.hex')).toThrow(
      /a\.hex: line 1: bad checksum/,
    );
    expect(() => parseIntelHex(`:0300000001\n`, 'b.hex')).toThrow(/line 1: length 3 does not match/);
    expect(() => parseIntelHex(good, 'c.hex')).toThrow(/no end-of-file record/);
    expect(() => parseIntelHex('hello', 'd.hex')).toThrow(ImageFileError);
  });

  it('reads .hex files as Intel HEX and anything else as raw bytes; typed errors for the rest', () => {
    const d = tmp();
    writeFileSync(join(d, 'fw.hex'), `${rec(0, 0, [0xaa, 0xbb])}\n${rec(1, 0, [])}\n`);
    writeFileSync(join(d, 'fw.bin'), Buffer.from([0xaa, 0xbb]));
    writeFileSync(join(d, 'empty.bin'), Buffer.alloc(0));
    expect([...readImageFile(join(d, 'fw.hex'))]).toEqual([0xaa, 0xbb]);
    expect([...readImageFile(join(d, 'fw.bin'))]).toEqual([0xaa, 0xbb]);
    expect(() => readImageFile(join(d, 'empty.bin'))).toThrow(/the image is empty/);
    expect(() => readImageFile(join(d, 'missing.bin'))).toThrow(ImageFileError);
    writeFileSync(join(d, 'k.pem'), 'not a key');
    try {
      readPublicKey(join(d, 'k.pem'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ImageFileError);
      expect((e as ImageFileError).code).toBe('bad_key');
    }
  });
});
