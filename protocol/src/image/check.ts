import { createHash } from 'node:crypto';
import { err, ok, type Result } from '../result.js';
import type { ImageCheckError } from './errors.js';
import type { Manifest } from './manifest.js';

export function sha256Digest(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** Do these bytes match the manifest (size, then SHA-256)? */
export function checkImage(manifest: Manifest, image: Uint8Array): Result<void, ImageCheckError> {
  if (image.length !== manifest.size) {
    return err({
      code: 'size_mismatch',
      message: `image has ${image.length} bytes, manifest says ${manifest.size}`,
    });
  }
  const digest = sha256Digest(image);
  for (let i = 0; i < 32; i++) {
    if (digest[i] !== manifest.sha256[i]) {
      return err({ code: 'hash_mismatch', message: 'SHA-256 of the image differs from the manifest' });
    }
  }
  return ok(undefined);
}
