import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ImageFileError,
  MAX_IMAGE_BYTES,
  parseIntelHex,
  readImageFile,
  readManifestFile,
  readPublicKey,
} from '../src/update/image-files.js';

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

describe('image sources that never end or never answer', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(ImageFileError);
      return (e as ImageFileError).code;
    }
    return 'read';
  };

  it('refuses a device file (endless /dev/zero) and a FIFO without a writer, before reading a byte', () => {
    expect(code(() => readImageFile('/dev/zero'))).toBe('not_a_file');
    const fifo = join(tmp(), 'image.bin');
    execFileSync('mkfifo', [fifo]);
    // Opening a FIFO without a writer would block the event loop for ever: it returns at once.
    expect(code(() => readImageFile(fifo))).toBe('not_a_file');
    expect(code(() => readManifestFile(fifo))).toBe('not_a_file');
  });

  it('refuses an image over 16 MiB, and a manifest over 64 KiB, by their size', () => {
    const d = tmp();
    const big = join(d, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, MAX_IMAGE_BYTES + 1); // sparse: nothing written
    expect(code(() => readImageFile(big))).toBe('too_large');
    truncateSync(big, MAX_IMAGE_BYTES);
    expect(readImageFile(big)).toHaveLength(MAX_IMAGE_BYTES);
    const manifest = join(d, 'big.bin.manifest');
    writeFileSync(manifest, new Uint8Array(64 * 1024 + 1));
    expect(code(() => readManifestFile(manifest))).toBe('too_large');
  });
});
