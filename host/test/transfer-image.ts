import { type Manifest, sha256Digest } from '@mcubus/protocol';

/**
 * An application image of `size` bytes for the UpdateTransfer tests (byte i is i·step mod 256) and the
 * manifest that describes it; the signed envelope does not matter to the transfer.
 */
export function transferImage(size: number, step: number): { image: Uint8Array; manifest: Manifest } {
  const image = new Uint8Array(size).map((_, i) => (i * step) & 0xff);
  return {
    image,
    manifest: {
      hardwareId: 'hw',
      kind: 0,
      version: [2, 0, 0],
      securityCounter: 0,
      sha256: sha256Digest(image),
      size,
    },
  };
}
