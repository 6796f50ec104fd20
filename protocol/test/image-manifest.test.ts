import { describe, expect, it } from 'vitest';
import {
  checkImage,
  compareVersions,
  decodeCbor,
  decodeManifest,
  encodeCbor,
  encodeManifest,
  type Manifest,
  sha256Digest,
} from '../src/index.js';

const image = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);

const manifest: Manifest = {
  hardwareId: 'mcubus-demo-board',
  kind: 0,
  version: [1, 2, 3],
  securityCounter: 4,
  sha256: sha256Digest(image),
  size: image.length,
  loadAddress: 0x0802_5000,
};

describe('image manifest', () => {
  it('encodes as a CBOR map with keys 1..7 in ascending order', () => {
    const bytes = encodeManifest(manifest);
    // map(7), key 1 text(17) "mcubus-demo-board", key 2 = 0, key 3 = [1,2,3], key 4 = 4, key 5 bstr(32)…
    expect(Array.from(bytes.subarray(0, 3))).toEqual([0xa7, 0x01, 0x71]);
    const decoded = decodeCbor(bytes);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok || !(decoded.value instanceof Map)) throw new Error('not a map');
    expect([...decoded.value.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(decoded.value.get(3)).toEqual([1, 2, 3]);
    expect(decoded.value.get(6)).toBe(1000);
    expect(decoded.value.get(7)).toBe(0x0802_5000);
  });

  it('gives the bytes of the example in docs/simulator-flash-boot.md "Image manifest"', () => {
    const hex = Buffer.from(encodeManifest(manifest)).toString('hex');
    const name = Buffer.from('mcubus-demo-board').toString('hex');
    const sha = Buffer.from(manifest.sha256).toString('hex');
    expect(hex).toBe(`a70171${name}020003830102030404055820${sha}061903e8071a08025000`);
  });

  it('round-trips, with and without the optional load address', () => {
    const back = decodeManifest(encodeManifest(manifest));
    expect(back).toEqual({ ok: true, value: manifest });
    const { loadAddress: _, ...pic } = manifest;
    const back2 = decodeManifest(encodeManifest(pic));
    expect(back2.ok && back2.value.loadAddress).toBe(undefined);
    expect(back2.ok && back2.value.version).toEqual([1, 2, 3]);
  });

  it('is deterministic: the same manifest gives the same bytes', () => {
    expect(encodeManifest({ ...manifest })).toEqual(encodeManifest(manifest));
  });

  it('refuses bytes that are not CBOR with bad_cbor', () => {
    const r = decodeManifest(Uint8Array.from([0xa7, 0x01]));
    expect(r.ok ? null : r.error.code).toBe('bad_cbor');
  });

  it('refuses a missing field, a short hash, an unknown kind and a 2-part version with schema', () => {
    const map = decodeCbor(encodeManifest(manifest));
    if (!map.ok || !(map.value instanceof Map)) throw new Error('not a map');
    const variant = (key: number, value: unknown) => {
      const m = new Map(map.value as Map<number, never>);
      if (value === undefined) m.delete(key);
      else m.set(key, value as never);
      return decodeManifest(encodeCbor(m));
    };
    const missing = variant(5, undefined);
    expect(missing.ok ? null : [missing.error.code, missing.error.at]).toEqual(['schema', 'manifest']);
    const shortHash = variant(5, new Uint8Array(31));
    expect(shortHash.ok ? null : [shortHash.error.code, shortHash.error.at]).toEqual([
      'schema',
      'manifest.sha256',
    ]);
    const kind = variant(2, 7);
    expect(kind.ok ? null : [kind.error.code, kind.error.at]).toEqual(['schema', 'manifest.kind']);
    const version = variant(3, [1, 2]);
    expect(version.ok ? null : version.error.at).toBe('manifest.version');
  });

  it('skips unknown keys (a newer signing tool may add informative ones)', () => {
    const map = decodeCbor(encodeManifest(manifest));
    if (!map.ok || !(map.value instanceof Map)) throw new Error('not a map');
    const m = new Map(map.value);
    m.set(20, 'build host');
    expect(decodeManifest(encodeCbor(m))).toEqual({ ok: true, value: manifest });
  });

  it('will not encode a manifest a device would refuse', () => {
    expect(() => encodeManifest({ ...manifest, sha256: new Uint8Array(16) })).toThrow(/sha256/);
  });
});

describe('checkImage', () => {
  it('accepts the exact bytes', () => {
    expect(checkImage(manifest, image)).toEqual({ ok: true, value: undefined });
  });

  it('reports size_mismatch before hashing, and hash_mismatch for one flipped bit', () => {
    const short = checkImage(manifest, image.subarray(0, 999));
    expect(short.ok ? null : short.error.code).toBe('size_mismatch');
    const flipped = image.slice();
    flipped[500]! ^= 0x10;
    const bad = checkImage(manifest, flipped);
    expect(bad.ok ? null : bad.error.code).toBe('hash_mismatch');
  });
});

describe('compareVersions', () => {
  it('orders numerically, with a missing build counting as 0', () => {
    expect(compareVersions([1, 10, 0], [1, 9, 99])).toBeGreaterThan(0);
    expect(compareVersions([1, 2, 3], [1, 2, 3, 0])).toBe(0);
    expect(compareVersions([1, 2, 3], [1, 2, 3, 1])).toBeLessThan(0);
  });
});
