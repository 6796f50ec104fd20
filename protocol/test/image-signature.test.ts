import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeCbor,
  decodeEnvelope,
  ed25519KeyPairFromSeed,
  encodeCbor,
  encodeManifest,
  keyIdOf,
  type Manifest,
  rawPublicKey,
  sha256Digest,
  signManifest,
  verifySignedManifest,
} from '../src/index.js';

const vendor = ed25519KeyPairFromSeed(new Uint8Array(32).fill(1));
const other = ed25519KeyPairFromSeed(new Uint8Array(32).fill(2));

const manifest: Manifest = {
  hardwareId: 'board-x',
  kind: 1,
  version: [2, 0, 0, 17],
  securityCounter: 3,
  sha256: sha256Digest(new Uint8Array(64)),
  size: 64,
};

describe('Ed25519 keys', () => {
  it('derives the RFC 8032 test vector 1 public key from its seed', () => {
    const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const { publicKey } = ed25519KeyPairFromSeed(new Uint8Array(seed));
    expect(Buffer.from(rawPublicKey(publicKey)).toString('hex')).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
  });

  it('has a key id of the first 8 bytes of SHA-256 of the raw public key', () => {
    const id = keyIdOf(vendor.publicKey);
    expect(id).toEqual(sha256Digest(rawPublicKey(vendor.publicKey)).subarray(0, 8));
    expect(keyIdOf(vendor.privateKey)).toEqual(id);
  });
});

describe('signed manifest envelope', () => {
  it('is {1: manifest bytes, 2: 64-byte signature, 3: key id} and verifies', () => {
    const env = signManifest(manifest, vendor.privateKey);
    const cbor = decodeCbor(env);
    if (!cbor.ok || !(cbor.value instanceof Map)) throw new Error('not a map');
    expect([...cbor.value.keys()]).toEqual([1, 2, 3]);
    expect(cbor.value.get(1)).toEqual(encodeManifest(manifest));
    expect((cbor.value.get(2) as Uint8Array).length).toBe(64);
    expect(cbor.value.get(3)).toEqual(keyIdOf(vendor.publicKey));
    expect(verifySignedManifest(env, [other.publicKey, vendor.publicKey])).toEqual({
      ok: true,
      value: manifest,
    });
  });

  it('is deterministic for a given key (Ed25519 has no random nonce)', () => {
    expect(signManifest(manifest, vendor.privateKey)).toEqual(signManifest(manifest, vendor.privateKey));
  });

  it('without a key id, tries every trusted key', () => {
    const env = signManifest(manifest, vendor.privateKey, { includeKeyId: false });
    const parts = decodeEnvelope(env);
    expect(parts.ok && parts.value.keyId).toBe(undefined);
    expect(verifySignedManifest(env, [other.publicKey, vendor.publicKey]).ok).toBe(true);
    const r = verifySignedManifest(env, [other.publicKey]);
    expect(r.ok ? null : r.error.code).toBe('bad_signature');
  });

  it('works with a random key from generateKeyPairSync', () => {
    const k = generateKeyPairSync('ed25519');
    expect(verifySignedManifest(signManifest(manifest, k.privateKey), [k.publicKey]).ok).toBe(true);
  });

  it('reports unknown_key when the key id is not trusted, or nothing is trusted', () => {
    const env = signManifest(manifest, vendor.privateKey);
    const r = verifySignedManifest(env, [other.publicKey]);
    expect(r.ok ? null : r.error.code).toBe('unknown_key');
    const none = verifySignedManifest(signManifest(manifest, vendor.privateKey, { includeKeyId: false }), []);
    expect(none.ok ? null : none.error.code).toBe('unknown_key');
  });

  it('reports bad_signature when one bit of the signed manifest changes', () => {
    const env = decodeCbor(signManifest(manifest, vendor.privateKey));
    if (!env.ok || !(env.value instanceof Map)) throw new Error('not a map');
    const body = (env.value.get(1) as Uint8Array).slice();
    body[body.length - 1]! ^= 1; // the size: 64 → 65
    const tampered = new Map(env.value);
    tampered.set(1, body);
    const r = verifySignedManifest(encodeCbor(tampered), [vendor.publicKey]);
    expect(r.ok ? null : r.error.code).toBe('bad_signature');
  });

  it('reports bad_signature when the key id is copied from a trusted key but another key signed', () => {
    const forged = decodeCbor(signManifest(manifest, other.privateKey));
    if (!forged.ok || !(forged.value instanceof Map)) throw new Error('not a map');
    const m = new Map(forged.value);
    m.set(3, keyIdOf(vendor.publicKey));
    const r = verifySignedManifest(encodeCbor(m), [vendor.publicKey]);
    expect(r.ok ? null : r.error.code).toBe('bad_signature');
  });

  it('reports bad_cbor and schema for malformed envelopes', () => {
    const cbor = verifySignedManifest(Uint8Array.from([0xff]), [vendor.publicKey]);
    expect(cbor.ok ? null : cbor.error.code).toBe('bad_cbor');
    const shortSig = encodeCbor(
      new Map<number, Uint8Array>([
        [1, encodeManifest(manifest)],
        [2, new Uint8Array(63)],
      ]),
    );
    const schema = verifySignedManifest(shortSig, [vendor.publicKey]);
    expect(schema.ok ? null : [schema.error.code, schema.error.at]).toEqual([
      'schema',
      'signed_manifest.signature',
    ]);
  });

  it('verifies the signature before decoding: a signed non-manifest is a schema error, not a crash', () => {
    const body = encodeCbor(new Map([[1, 'x']]));
    const env = encodeCbor(
      new Map<number, Uint8Array>([
        [1, body],
        [2, new Uint8Array(sign(null, body, vendor.privateKey))],
      ]),
    );
    const r = verifySignedManifest(env, [vendor.publicKey]);
    expect(r.ok ? null : r.error.code).toBe('schema');
  });
});
