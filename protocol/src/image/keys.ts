import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

/** Raw 32-byte Ed25519 public key (RFC 8032), the form a C verifier stores in its key table. */
export function rawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = pub.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new TypeError(`not an Ed25519 key (${String(jwk.kty)}/${String(jwk.crv)})`);
  }
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

export const KEY_ID_BYTES = 8;

/** Key id: the first 8 bytes of SHA-256(raw public key). Lets a device with several keys try one. */
export function keyIdOf(key: KeyObject): Uint8Array {
  const digest = createHash('sha256').update(rawPublicKey(key)).digest();
  return new Uint8Array(digest.subarray(0, KEY_ID_BYTES));
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): SEQUENCE { version 0, AlgorithmIdentifier
// id-Ed25519, OCTET STRING { OCTET STRING seed } }.
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/**
 * An Ed25519 key pair from a 32-byte seed. Simulations and golden vectors need keys that are the same on
 * every run (generateKeyPairSync draws from the OS); real signing keys come from an HSM or a key file.
 */
export function ed25519KeyPairFromSeed(seed: Uint8Array): { privateKey: KeyObject; publicKey: KeyObject } {
  if (seed.length !== 32) throw new RangeError(`an Ed25519 seed has 32 bytes, got ${seed.length}`);
  const der = new Uint8Array(PKCS8_ED25519_PREFIX.length + 32);
  der.set(PKCS8_ED25519_PREFIX, 0);
  der.set(seed, PKCS8_ED25519_PREFIX.length);
  const privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  return { privateKey, publicKey: createPublicKey(privateKey) };
}
