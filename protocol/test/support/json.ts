import type { CborValue } from '../../src/index.js';

/**
 * The JSON form used by the golden vectors: byte strings as {"$hex": "…"}, maps as
 * {"$map": [[key, value], …]} (keys may be integers), everything else as itself.
 */
export function toJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $hex: Buffer.from(v).toString('hex') };
  if (v instanceof Map) return { $map: [...v].map(([k, x]) => [k, toJson(x)]) };
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]));
  }
  return v;
}

export function fromJson(v: unknown): CborValue | Record<string, unknown> {
  if (Array.isArray(v)) return v.map((x) => fromJson(x) as CborValue);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$hex === 'string') return new Uint8Array(Buffer.from(o.$hex, 'hex'));
    if (Array.isArray(o.$map)) {
      return new Map((o.$map as [number | string, unknown][]).map(([k, x]) => [k, fromJson(x) as CborValue]));
    }
    if (typeof o.$bigint === 'string') return BigInt(o.$bigint);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromJson(x)]));
  }
  return v as CborValue;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
