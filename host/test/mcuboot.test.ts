import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { MCUBOOT_MAGIC, parseMcuboot, TLV, verifyMcubootEd25519 } from '../src/update/mcuboot.js';

/** An image laid out as imgtool does: header, body, unprotected TLVs (SHA-256, Ed25519 over the hash). */
function mcubootImage(
  body: Uint8Array,
  version: [number, number, number, number],
  key = generateKeyPairSync('ed25519'),
) {
  const header = Buffer.alloc(32);
  header.writeUInt32LE(MCUBOOT_MAGIC, 0);
  header.writeUInt32LE(0x0800_0000, 4);
  header.writeUInt16LE(32, 8);
  header.writeUInt16LE(0, 10);
  header.writeUInt32LE(body.length, 12);
  header.writeUInt8(version[0], 20);
  header.writeUInt8(version[1], 21);
  header.writeUInt16LE(version[2], 22);
  header.writeUInt32LE(version[3], 24);
  const signed = Buffer.concat([header, body]);
  const hash = createHash('sha256').update(signed).digest();
  const sig = sign(null, hash, key.privateKey);
  const tlv = (type: number, data: Buffer) => {
    const h = Buffer.alloc(4);
    h.writeUInt16LE(type, 0);
    h.writeUInt16LE(data.length, 2);
    return Buffer.concat([h, data]);
  };
  const tlvs = Buffer.concat([tlv(TLV.sha256, hash), tlv(TLV.ed25519, sig)]);
  const info = Buffer.alloc(4);
  info.writeUInt16LE(0x6907, 0);
  info.writeUInt16LE(tlvs.length + 4, 2);
  return { bytes: new Uint8Array(Buffer.concat([signed, info, tlvs])), key };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('MCUboot images', () => {
  it('reads the header and TLVs, checks the hash and the Ed25519 signature of it', () => {
    const { bytes, key } = mcubootImage(new Uint8Array(1000).fill(5), [2, 3, 4, 0]);
    const img = parseMcuboot(bytes);
    expect(img).toMatchObject({
      loadAddress: 0x0800_0000,
      headerSize: 32,
      imageSize: 1000,
      version: [2, 3, 4, 0],
    });
    expect(Buffer.from(img.hash!)).toEqual(Buffer.from(img.computedHash));
    expect(verifyMcubootEd25519(img, key.publicKey)).toBe(true);
    expect(verifyMcubootEd25519(img, generateKeyPairSync('ed25519').publicKey)).toBe(false);
    const tampered = bytes.slice();
    tampered[100] = (tampered[100] ?? 0) ^ 1;
    expect(verifyMcubootEd25519(parseMcuboot(tampered), key.publicKey)).toBe(false);
    expect(() => parseMcuboot(bytes.subarray(0, 500))).toThrow(/runs past the file's end/);
  });

  it('mcubus image sign takes the version from the MCUboot header; inspect checks both signatures', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mcubus-mcuboot-'));
    dirs.push(d);
    const { bytes, key } = mcubootImage(new Uint8Array(4000).fill(9), [1, 9, 2, 0]);
    const path = join(d, 'zephyr.signed.bin');
    writeFileSync(path, bytes);
    const pub = join(d, 'imgtool.pub.pem');
    writeFileSync(pub, key.publicKey.export({ type: 'spki', format: 'pem' }));
    const out: string[] = [];
    const io = {
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => out.push(s) },
    };
    expect(await runCli(['image', 'inspect', path, '--key', pub], io)).toBe(0);
    expect(out.join('')).toMatch(/MCUboot:\s+version 1\.9\.2\+0, 4000 bytes/);
    expect(out.join('')).toMatch(/MCUboot sig:\s+valid \(Ed25519\)/);
    await runCli(['image', 'keygen', '--out', join(d, 'k.pem')], io);
    out.length = 0;
    expect(
      await runCli(['image', 'sign', path, '--key', join(d, 'k.pem'), '--hardware-id', 'zephyr-board'], io),
    ).toBe(0);
    expect(out.join('')).toContain('zephyr-board app 1.9.2');
    out.length = 0;
    expect(await runCli(['image', 'inspect', path, '--key', join(d, 'k.pub.pem'), '--json'], io)).toBe(1);
    // The imgtool key does not sign the mcubus manifest, and the mcubus key not the MCUboot hash.
    expect(out.join('')).toMatch(/MCUboot sig:\s+INVALID/);
    expect(out.join('')).toMatch(/"signature": "valid"/);
  });
});
