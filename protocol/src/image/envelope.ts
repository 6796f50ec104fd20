import { type KeyObject, sign, verify } from 'node:crypto';
import { decodeCbor } from '../cbor/decode.js';
import { encodeCbor } from '../cbor/encode.js';
import { err, ok, type Result } from '../result.js';
import { bytes, type DecodeContext, opt, req, SchemaViolation, struct } from '../schema/index.js';
import type { ImageError } from './errors.js';
import { KEY_ID_BYTES, keyIdOf } from './keys.js';
import { decodeManifest, encodeManifest, type Manifest } from './manifest.js';

/** Largest signed envelope: it travels in UPDATE_BEGIN `manifest` (bytes ≤ 1024). */
export const SIGNED_MANIFEST_MAX_BYTES = 1024;

export const ED25519_SIGNATURE_BYTES = 64;

/**
 * The signed envelope: the manifest travels as the exact bytes that were signed (a bstr), so a verifier
 * never re-encodes anything before checking the signature.
 */
export const signedManifestSchema = struct('signed_manifest', {
  manifest: req(1, bytes({ max: SIGNED_MANIFEST_MAX_BYTES }), 'Manifest CBOR bytes, exactly as signed.'),
  signature: req(2, bytes({ exact: ED25519_SIGNATURE_BYTES }), 'Ed25519 signature over key 1.'),
  keyId: opt(3, bytes({ exact: KEY_ID_BYTES }), 'First 8 bytes of SHA-256(raw public key).'),
});

export interface SignOptions {
  /** Put the key id into the envelope (default true); without it a verifier tries every trusted key. */
  readonly includeKeyId?: boolean;
}

/** Encodes, signs (Ed25519, pure: no pre-hash) and wraps the manifest. Returns the envelope bytes. */
export function signManifest(manifest: Manifest, privateKey: KeyObject, opts: SignOptions = {}): Uint8Array {
  const body = encodeManifest(manifest);
  const signature = new Uint8Array(sign(null, body, privateKey));
  const includeKeyId = opts.includeKeyId ?? true;
  return encodeCbor(
    signedManifestSchema.encode({
      manifest: body,
      signature,
      ...(includeKeyId ? { keyId: keyIdOf(privateKey) } : {}),
    }),
  );
}

/**
 * Checks the envelope against the device's trusted keys and only then decodes the manifest: nothing an
 * attacker wrote is interpreted before its signature holds.
 */
export function verifySignedManifest(
  envelope: Uint8Array,
  trustedPublicKeys: readonly KeyObject[],
): Result<Manifest, ImageError> {
  const parsed = decodeEnvelope(envelope);
  if (!parsed.ok) return parsed;
  const { manifest, signature, keyId } = parsed.value;
  let candidates = trustedPublicKeys;
  if (keyId !== undefined) {
    candidates = trustedPublicKeys.filter((k) => bytesEqual(keyIdOf(k), keyId));
    if (candidates.length === 0) {
      return err({
        code: 'unknown_key',
        message: `key id ${hex(keyId)} is not among the ${trustedPublicKeys.length} trusted key(s)`,
        at: 'signed_manifest.keyId',
      });
    }
  } else if (candidates.length === 0) {
    return err({ code: 'unknown_key', message: 'no trusted key', at: 'signed_manifest' });
  }
  if (!candidates.some((k) => ed25519Verify(manifest, signature, k))) {
    return err({
      code: 'bad_signature',
      message: `signature does not verify with ${candidates.length} candidate key(s)`,
      at: 'signed_manifest.signature',
    });
  }
  return decodeManifest(manifest);
}

/** The envelope's parts, unverified (for tools that display a manifest, and for tests). */
export function decodeEnvelope(
  envelope: Uint8Array,
): Result<{ manifest: Uint8Array; signature: Uint8Array; keyId?: Uint8Array }, ImageError> {
  const cbor = decodeCbor(envelope);
  if (!cbor.ok) {
    return err({
      code: 'bad_cbor',
      message: `signed manifest is not valid CBOR: ${cbor.error.message} (${cbor.error.code})`,
      at: `byte ${cbor.error.offset}`,
    });
  }
  const ctx: DecodeContext = { unknownKeys: [] };
  try {
    return ok(signedManifestSchema.decode(cbor.value, 'signed_manifest', ctx));
  } catch (e) {
    if (e instanceof SchemaViolation) return err({ code: 'schema', message: e.message, at: e.path });
    throw e;
  }
}

function ed25519Verify(data: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  try {
    return verify(null, data, key, signature);
  } catch {
    // A trusted-key list holding a non-Ed25519 key is a configuration error, not a valid signature.
    return false;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
