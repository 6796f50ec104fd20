import { decodeCbor } from '../cbor/decode.js';
import { encodeCbor } from '../cbor/encode.js';
import { err, ok, type Result } from '../result.js';
import {
  array,
  bytes,
  type DecodeContext,
  opt,
  req,
  SchemaViolation,
  struct,
  text,
  u8,
  u32,
} from '../schema/index.js';
import type { ImageError } from './errors.js';

/**
 * What an image is and for whom: the signed statement a bootloader checks before running it. Images are
 * identified by their SHA-256 (also the resume key of UPDATE_BEGIN), so the manifest binds the signature
 * to exact bytes.
 */
export interface Manifest {
  /** Board/product the image is built for; must equal the device's (HELLO `hardwareId`). */
  readonly hardwareId: string;
  /** ImageKind: 0 application, 1 bootloader. */
  readonly kind: 0 | 1;
  /** [major, minor, patch] or [major, minor, patch, build]. */
  readonly version: readonly number[];
  /** Anti-rollback: a device refuses images whose counter is below the one it has confirmed. */
  readonly securityCounter: number;
  readonly sha256: Uint8Array;
  readonly size: number;
  /** Absolute address the image is linked to run at (execute in place); absent = position independent. */
  readonly loadAddress?: number;
}

/** Keys of the manifest map (the layout is normative: see docs/simulator-flash-boot.md "Image manifest"). */
export const manifestSchema = struct('manifest', {
  hardwareId: req(1, text(64), 'Board/product identifier the image is built for.'),
  kind: req(2, u8, 'ImageKind: 0 application, 1 bootloader.'),
  version: req(3, array(u32, { min: 3, max: 4 }), 'Version [major, minor, patch(, build)].'),
  securityCounter: req(4, u32, 'Anti-rollback counter.'),
  sha256: req(5, bytes({ exact: 32 }), 'SHA-256 of the image bytes.'),
  size: req(6, u32, 'Image size in bytes.'),
  loadAddress: opt(7, u32, 'Address the image is linked to execute at.'),
});

/** Deterministic CBOR (ascending keys, shortest heads). Throws on a manifest that would not decode. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const out = encodeCbor(
    manifestSchema.encode({
      ...manifest,
      version: [...manifest.version],
    }),
  );
  // Refuse to produce bytes a device would reject: a signing tool must fail at build time, not on the
  // device after a 200 KiB transfer.
  const back = decodeManifest(out);
  if (!back.ok) throw new TypeError(`invalid manifest: ${back.error.message}`);
  return out;
}

export function decodeManifest(bytesIn: Uint8Array): Result<Manifest, ImageError> {
  const cbor = decodeCbor(bytesIn);
  if (!cbor.ok) {
    return err({
      code: 'bad_cbor',
      message: `manifest is not valid CBOR: ${cbor.error.message} (${cbor.error.code})`,
      at: `byte ${cbor.error.offset}`,
    });
  }
  // Unknown keys are skipped, as in message bodies (§4): a newer signing tool may add informative keys.
  const ctx: DecodeContext = { unknownKeys: [] };
  try {
    const m = manifestSchema.decode(cbor.value, 'manifest', ctx);
    if (m.kind !== 0 && m.kind !== 1) {
      return err({
        code: 'schema',
        message: `manifest.kind: ${m.kind} is not an image kind`,
        at: 'manifest.kind',
      });
    }
    const manifest: Manifest = {
      hardwareId: m.hardwareId,
      kind: m.kind,
      version: m.version,
      securityCounter: m.securityCounter,
      sha256: m.sha256,
      size: m.size,
      ...(m.loadAddress !== undefined ? { loadAddress: m.loadAddress } : {}),
    };
    return ok(manifest);
  } catch (e) {
    if (e instanceof SchemaViolation) return err({ code: 'schema', message: e.message, at: e.path });
    throw e;
  }
}
