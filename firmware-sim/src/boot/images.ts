import type { KeyObject } from 'node:crypto';
import { type Manifest, sha256Digest, signManifest } from '@mcubus/protocol';
import { Prng } from '../kernel/prng.js';
import type { SignedImage } from './provision.js';

export interface ImageSpec {
  readonly hardwareId: string;
  readonly kind: 0 | 1;
  readonly version: readonly number[];
  readonly securityCounter?: number;
  readonly size: number;
  /** Where it is linked to run (slotLoadAddress); absent = position independent. */
  readonly loadAddress?: number;
  /** Seed of the pseudo-random image contents (default: derived from kind and version). */
  readonly contentSeed?: string;
}

/**
 * A deterministic signed image for scenarios and tests: pseudo-random bytes (so a torn or misplaced
 * chunk always changes the hash), its manifest, and the envelope signed with `key`.
 */
export function buildSignedImage(
  spec: ImageSpec,
  key: KeyObject,
): SignedImage & { readonly manifest: Manifest } {
  const rng = new Prng(spec.contentSeed ?? `image:${spec.kind}:${spec.version.join('.')}`);
  const image = new Uint8Array(spec.size);
  for (let i = 0; i < image.length; i++) image[i] = rng.int(256);
  const manifest: Manifest = {
    hardwareId: spec.hardwareId,
    kind: spec.kind,
    version: [...spec.version],
    securityCounter: spec.securityCounter ?? 0,
    sha256: sha256Digest(image),
    size: spec.size,
    ...(spec.loadAddress !== undefined ? { loadAddress: spec.loadAddress } : {}),
  };
  return { image, manifest, envelope: signManifest(manifest, key) };
}
