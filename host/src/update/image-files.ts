import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

/**
 * Image files on the host: the image itself (raw binary, or Intel HEX when the name ends in .hex)
 * and its signed manifest envelope next to it (`IMAGE.manifest`, made by `mcubus image sign`).
 * Every problem is an ImageFileError with a code and the path.
 */
export class ImageFileError extends Error {
  constructor(
    readonly code:
      | 'unreadable'
      | 'not_a_file'
      | 'too_large'
      | 'bad_hex'
      | 'bad_key'
      | 'empty'
      | 'bad_mcuboot',
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ImageFileError';
  }
}

export function manifestPathFor(imagePath: string): string {
  return `${imagePath}.manifest`;
}

/** Largest image read (raw; MCU flash is far smaller), its Intel HEX text, a manifest or key file. */
export const MAX_IMAGE_BYTES = 16 * 1024 * 1024;
const MAX_HEX_BYTES = 4 * MAX_IMAGE_BYTES;
const MAX_SMALL_FILE_BYTES = 64 * 1024;

/**
 * Reads a regular file of at most `limit` bytes. A path naming a FIFO, a device (/dev/zero) or a socket
 * is refused before a byte is read: such a source can stall the daemon (open or read never returns)
 * or never end — slow retrieval and endless data on the host's own side. Reading stops at limit + 1
 * bytes, so a file that grows while it is read is refused too.
 */
function read(path: string, limit = MAX_SMALL_FILE_BYTES): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO without a writer would otherwise block the event loop.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new ImageFileError('unreadable', path, (e as Error).message);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ImageFileError('not_a_file', path, 'not a regular file');
    if (st.size > limit)
      throw new ImageFileError('too_large', path, `${st.size} bytes, more than the ${limit} allowed`);
    const buf = Buffer.alloc(Math.min(limit + 1, st.size + 1));
    let got = 0;
    for (;;) {
      if (got === buf.length)
        throw new ImageFileError('too_large', path, `it grew past ${buf.length - 1} bytes`);
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } catch (e) {
    if (e instanceof ImageFileError) throw e;
    throw new ImageFileError('unreadable', path, (e as Error).message);
  } finally {
    closeSync(fd);
  }
}

/** The image bytes: Intel HEX is converted (gaps filled with 0xFF, erased flash), anything else is raw. */
export function readImageFile(path: string): Uint8Array {
  const hex = path.toLowerCase().endsWith('.hex');
  const data = read(path, hex ? MAX_HEX_BYTES : MAX_IMAGE_BYTES);
  const bytes = hex ? parseIntelHex(data.toString('latin1'), path) : new Uint8Array(data);
  if (bytes.length === 0) throw new ImageFileError('empty', path, 'the image is empty');
  return bytes;
}

export function readManifestFile(path: string): Uint8Array {
  return new Uint8Array(read(path));
}

/**
 * Intel HEX (records 00 data, 01 end, 02 extended segment, 04 extended linear address; 03/05 start
 * addresses are ignored): the bytes from the lowest to the highest address written.
 */
export function parseIntelHex(text: string, path = '<hex>'): Uint8Array {
  const chunks: { at: number; data: Uint8Array }[] = [];
  let base = 0;
  let ended = false;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length && !ended; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    const where = `line ${n + 1}`;
    if (!/^:([0-9A-Fa-f]{2})+$/.test(line))
      throw new ImageFileError('bad_hex', path, `${where}: not a hex record`);
    const rec = Buffer.from(line.slice(1), 'hex');
    const len = rec[0]!;
    if (rec.length !== len + 5)
      throw new ImageFileError('bad_hex', path, `${where}: length ${len} does not match`);
    const sum = rec.reduce((a, b) => (a + b) & 0xff, 0);
    if (sum !== 0) throw new ImageFileError('bad_hex', path, `${where}: bad checksum`);
    const offset = (rec[1]! << 8) | rec[2]!;
    const type = rec[3]!;
    const data = rec.subarray(4, 4 + len);
    switch (type) {
      case 0x00:
        chunks.push({ at: base + offset, data: new Uint8Array(data) });
        break;
      case 0x01:
        ended = true;
        break;
      case 0x02:
        base = ((data[0]! << 8) | data[1]!) * 16;
        break;
      case 0x04:
        base = ((data[0]! << 8) | data[1]!) * 0x10000;
        break;
      case 0x03:
      case 0x05:
        break;
      default:
        throw new ImageFileError('bad_hex', path, `${where}: unknown record type ${type}`);
    }
  }
  if (!ended) throw new ImageFileError('bad_hex', path, 'no end-of-file record');
  if (chunks.length === 0) return new Uint8Array(0);
  const lo = Math.min(...chunks.map((c) => c.at));
  const hi = Math.max(...chunks.map((c) => c.at + c.data.length));
  if (hi - lo > 64 * 1024 * 1024) throw new ImageFileError('bad_hex', path, 'spans more than 64 MiB');
  const out = new Uint8Array(hi - lo).fill(0xff);
  for (const c of chunks) out.set(c.data, c.at - lo);
  return out;
}

/** A public key from a PEM file holding an Ed25519 public or private key. */
export function readPublicKey(path: string): KeyObject {
  const pem = read(path).toString('utf8');
  try {
    const key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key, not Ed25519`);
    return key;
  } catch (e) {
    throw new ImageFileError('bad_key', path, (e as Error).message);
  }
}

export function readPrivateKey(path: string): KeyObject {
  const pem = read(path).toString('utf8');
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key, not Ed25519`);
    return key;
  } catch (e) {
    throw new ImageFileError('bad_key', path, (e as Error).message);
  }
}

/** A new Ed25519 key pair as PEM (PKCS#8 private, SPKI public). */
export function newKeyPairPem(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
