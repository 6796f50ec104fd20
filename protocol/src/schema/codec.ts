import type { CborMap, CborValue } from '../cbor/value.js';

/**
 * A codec validates one CBOR value into a typed JS value and back. Message schemas are built from
 * these, so the TypeScript types and the runtime checks come from one definition.
 */
export interface Codec<T> {
  /** What the value must be, for error messages ("unsigned integer ≤ 255"). */
  readonly describe: string;
  /** Machine-readable form of the same: drives the spec's tables and the property tests. */
  readonly shape: Shape;
  decode(value: CborValue, path: string, ctx: DecodeContext): T;
  encode(value: T): CborValue;
}

export type Shape =
  | { readonly kind: 'uint'; readonly max: number }
  | { readonly kind: 'int' }
  | { readonly kind: 'number' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'text'; readonly maxBytes: number }
  | { readonly kind: 'bytes'; readonly min: number; readonly max: number }
  | { readonly kind: 'array'; readonly item: Shape; readonly min: number; readonly max: number }
  | { readonly kind: 'uintMap'; readonly value: Shape; readonly maxEntries: number }
  | { readonly kind: 'any' }
  | { readonly kind: 'struct'; readonly name: string; readonly fields: readonly FieldShape[] };

export interface FieldShape {
  readonly name: string;
  readonly key: number;
  readonly optional: boolean;
  readonly doc: string;
  readonly shape: Shape;
}

export interface DecodeContext {
  /** Paths of map keys the schema does not know: surfaced to the caller, then skipped. */
  readonly unknownKeys: string[];
}

/** Internal signal of a schema mismatch; `decodeWith` turns it into a typed Result. */
export class SchemaViolation {
  constructor(
    readonly path: string,
    readonly message: string,
  ) {}
}

function fail(path: string, expected: string, got: CborValue): never {
  throw new SchemaViolation(path, `${path}: expected ${expected}, got ${describeValue(got)}`);
}

export function describeValue(v: CborValue): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `byte string (${v.length} bytes)`;
  if (Array.isArray(v)) return `array (${v.length} items)`;
  if (v instanceof Map) return `map (${v.size} entries)`;
  if (typeof v === 'string') return `text "${v.length > 24 ? `${v.slice(0, 24)}…` : v}"`;
  return `${typeof v} ${String(v)}`;
}

export function uint(max = Number.MAX_SAFE_INTEGER): Codec<number> {
  const describe = max === Number.MAX_SAFE_INTEGER ? 'unsigned integer' : `unsigned integer ≤ ${max}`;
  return {
    describe,
    shape: { kind: 'uint', max },
    decode: (v, path) =>
      typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : fail(path, describe, v),
    encode: (v) => {
      // A value the peer would reject as `schema` is a bug on our side: fail loudly here.
      if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${v} is not an ${describe}`);
      return v;
    },
  };
}

export const u8 = uint(0xff);
export const u16 = uint(0xffff);
export const u32 = uint(0xffffffff);
export const u64 = uint();

export const int: Codec<number> = {
  describe: 'integer',
  shape: { kind: 'int' },
  decode: (v, path) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : fail(path, 'integer', v)),
  encode: (v) => v,
};

export const number: Codec<number> = {
  describe: 'number',
  shape: { kind: 'number' },
  decode: (v, path) => (typeof v === 'number' ? v : fail(path, 'number', v)),
  encode: (v) => v,
};

export const bool: Codec<boolean> = {
  describe: 'boolean',
  shape: { kind: 'bool' },
  decode: (v, path) => (typeof v === 'boolean' ? v : fail(path, 'boolean', v)),
  encode: (v) => v,
};

export function text(maxBytes = 1024): Codec<string> {
  const describe = `text of at most ${maxBytes} bytes`;
  return {
    describe,
    shape: { kind: 'text', maxBytes },
    decode: (v, path) => (typeof v === 'string' && utf8Length(v) <= maxBytes ? v : fail(path, describe, v)),
    encode: (v) => v,
  };
}

export function bytes(opts: { exact?: number; max?: number } = {}): Codec<Uint8Array> {
  const describe =
    opts.exact !== undefined
      ? `byte string of ${opts.exact} bytes`
      : `byte string of at most ${opts.max ?? 4096} bytes`;
  return {
    describe,
    shape: { kind: 'bytes', min: opts.exact ?? 0, max: opts.exact ?? opts.max ?? 4096 },
    decode: (v, path) => {
      if (!(v instanceof Uint8Array)) return fail(path, describe, v);
      if (opts.exact !== undefined ? v.length !== opts.exact : v.length > (opts.max ?? 4096)) {
        return fail(path, describe, v);
      }
      return v;
    },
    encode: (v) => v,
  };
}

export function array<T>(item: Codec<T>, opts: { min?: number; max?: number } = {}): Codec<T[]> {
  const min = opts.min ?? 0;
  const max = opts.max ?? 256;
  const describe = `array of ${min}–${max} × ${item.describe}`;
  return {
    describe,
    shape: { kind: 'array', item: item.shape, min, max },
    decode: (v, path, ctx) => {
      if (!Array.isArray(v) || v.length < min || v.length > max) return fail(path, describe, v);
      return v.map((x, i) => item.decode(x, `${path}[${i}]`, ctx));
    },
    encode: (v) => v.map((x) => item.encode(x)),
  };
}

/** Any CBOR value, passed through unchanged (vendor-defined content). */
export const any: Codec<CborValue> = {
  describe: 'any CBOR value',
  shape: { kind: 'any' },
  decode: (v) => v,
  encode: (v) => v,
};

/** A map from unsigned integer keys to values of one codec (e.g. error counters by id). */
export function uintMap<T>(value: Codec<T>, maxEntries = 64): Codec<Map<number, T>> {
  const describe = `map of unsigned integer → ${value.describe}`;
  return {
    describe,
    shape: { kind: 'uintMap', value: value.shape, maxEntries },
    decode: (v, path, ctx) => {
      if (!(v instanceof Map) || v.size > maxEntries) return fail(path, describe, v);
      const out = new Map<number, T>();
      for (const [k, x] of v) {
        if (typeof k !== 'number' || !Number.isInteger(k) || k < 0)
          fail(`${path}.${String(k)}`, 'unsigned integer key', k);
        out.set(k, value.decode(x, `${path}.${k}`, ctx));
      }
      return out;
    },
    encode: (v) => new Map([...v].sort((a, b) => a[0] - b[0])) as CborMap,
  };
}

/** UTF-8 byte length without Buffer (this package also runs in browsers). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
