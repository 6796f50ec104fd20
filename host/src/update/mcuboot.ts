import { createHash, type KeyObject, verify } from 'node:crypto';

/**
 * MCUboot images, as imgtool makes them for Zephyr: a 32-byte header (magic 0x96f3b83d, load address,
 * header size, protected-TLV size, image size, flags, version major.minor.revision+build), the image,
 * then TLV areas (protected 0x6908, unprotected 0x6907) holding the SHA-256 of header + image +
 * protected TLVs and, for Ed25519 keys, the signature of that hash. mcubus reads them so that an image
 * imgtool signed can be checked and wrapped in an mcubus manifest (`mcubus image sign` takes its
 * version from the header); the whole file is what goes into the device's slot.
 */
export const MCUBOOT_MAGIC = 0x96f3b83d;
const TLV_INFO_MAGIC = 0x6907;
const TLV_PROT_INFO_MAGIC = 0x6908;
export const TLV = { keyHash: 0x01, sha256: 0x10, ed25519: 0x24 } as const;

export interface McubootImage {
  readonly loadAddress: number;
  readonly headerSize: number;
  readonly imageSize: number;
  readonly flags: number;
  /** [major, minor, revision, build]. */
  readonly version: [number, number, number, number];
  readonly tlvs: readonly { readonly type: number; readonly data: Uint8Array; readonly protected: boolean }[];
  /** The SHA-256 the image says it has, and the one its bytes have. */
  readonly hash: Uint8Array | null;
  readonly computedHash: Uint8Array;
}

export class McubootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'McubootError';
  }
}

export function isMcuboot(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 32 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === MCUBOOT_MAGIC
  );
}

export function parseMcuboot(bytes: Uint8Array): McubootImage {
  if (!isMcuboot(bytes)) throw new McubootError('not an MCUboot image (no 0x96f3b83d magic)');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const loadAddress = v.getUint32(4, true);
  const headerSize = v.getUint16(8, true);
  const protSize = v.getUint16(10, true);
  const imageSize = v.getUint32(12, true);
  const flags = v.getUint32(16, true);
  const version: [number, number, number, number] = [
    v.getUint8(20),
    v.getUint8(21),
    v.getUint16(22, true),
    v.getUint32(24, true),
  ];
  if (headerSize < 32) throw new McubootError(`header size ${headerSize} is below 32`);
  const end = headerSize + imageSize;
  if (end > bytes.length) throw new McubootError(`image of ${imageSize} bytes runs past the file's end`);
  const tlvs: { type: number; data: Uint8Array; protected: boolean }[] = [];
  let off = end;
  const area = (magic: number, isProtected: boolean, required: boolean) => {
    if (off + 4 > bytes.length) {
      if (required) throw new McubootError('TLV area missing');
      return;
    }
    if (v.getUint16(off, true) !== magic) {
      if (required)
        throw new McubootError(
          `TLV area magic 0x${v.getUint16(off, true).toString(16)} is not 0x${magic.toString(16)}`,
        );
      return;
    }
    const total = v.getUint16(off + 2, true);
    const stop = off + total;
    if (stop > bytes.length) throw new McubootError('TLV area runs past the file');
    let p = off + 4;
    while (p < stop) {
      if (p + 4 > stop) throw new McubootError('truncated TLV');
      const type = v.getUint16(p, true);
      const len = v.getUint16(p + 2, true);
      if (p + 4 + len > stop) throw new McubootError(`TLV 0x${type.toString(16)} runs past its area`);
      tlvs.push({ type, data: bytes.subarray(p + 4, p + 4 + len), protected: isProtected });
      p += 4 + len;
    }
    off = stop;
  };
  if (protSize > 0) area(TLV_PROT_INFO_MAGIC, true, true);
  area(TLV_INFO_MAGIC, false, true);
  const computedHash = new Uint8Array(
    createHash('sha256')
      .update(bytes.subarray(0, end + protSize))
      .digest(),
  );
  const hash = tlvs.find((t) => t.type === TLV.sha256)?.data ?? null;
  return { loadAddress, headerSize, imageSize, flags, version, tlvs, hash, computedHash };
}

/** Whether the Ed25519 TLV signs the image's hash with `key` (MCUboot signs the 32-byte digest). */
export function verifyMcubootEd25519(image: McubootImage, key: KeyObject): boolean {
  const sig = image.tlvs.find((t) => t.type === TLV.ed25519)?.data;
  if (!sig || !image.hash || !sameBytes(image.hash, image.computedHash)) return false;
  try {
    return verify(null, image.hash, key, sig);
  } catch {
    return false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
