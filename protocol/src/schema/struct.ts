import type { CborMap, CborValue } from '../cbor/value.js';
import { type Codec, describeValue, SchemaViolation, type Shape } from './codec.js';

/** One field of a struct: its small-integer key on the wire, its codec, and whether it may be absent. */
export interface Field<T, Optional extends boolean> {
  readonly key: number;
  readonly codec: Codec<T>;
  readonly optional: Optional;
  /** One line for the spec's message tables. */
  readonly doc: string;
}

export function req<T>(key: number, codec: Codec<T>, doc = ''): Field<T, false> {
  return { key, codec, optional: false, doc };
}

export function opt<T>(key: number, codec: Codec<T>, doc = ''): Field<T, true> {
  return { key, codec, optional: true, doc };
}

// biome-ignore lint/suspicious/noExplicitAny: variance of the field value type is irrelevant here
type AnyField = Field<any, boolean>;
export type Fields = Record<string, AnyField>;
type ValueOf<F> = F extends Field<infer T, boolean> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type StructOf<F extends Fields> = Simplify<
  { [K in keyof F as F[K] extends Field<unknown, false> ? K : never]: ValueOf<F[K]> } & {
    [K in keyof F as F[K] extends Field<unknown, true> ? K : never]?: ValueOf<F[K]>;
  }
>;

export interface StructCodec<F extends Fields> extends Codec<StructOf<F>> {
  readonly fields: F;
}

/**
 * A CBOR map with small unsigned integer keys. Encodes keys in ascending order (deterministic bytes);
 * on decode, required keys must be present and unknown keys are recorded and skipped (forward
 * compatibility: a newer peer may add fields).
 */
export function struct<F extends Fields>(name: string, fields: F): StructCodec<F> {
  const entries = Object.entries(fields).sort((a, b) => a[1].key - b[1].key);
  const byKey = new Map(entries.map(([prop, f]) => [f.key, [prop, f] as const]));
  if (byKey.size !== entries.length) throw new Error(`struct ${name} has duplicate keys`);
  const shape: Shape = {
    kind: 'struct',
    name,
    fields: entries.map(([prop, f]) => ({
      name: prop,
      key: f.key,
      optional: f.optional,
      doc: f.doc,
      shape: f.codec.shape,
    })),
  };
  return {
    fields,
    shape,
    describe: `${name} map`,
    decode(value: CborValue, path: string, ctx) {
      if (!(value instanceof Map)) {
        throw new SchemaViolation(path, `${path}: expected ${name} map, got ${describeValue(value)}`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of value) {
        const known = typeof key === 'number' ? byKey.get(key) : undefined;
        if (!known) {
          ctx.unknownKeys.push(`${path}.${String(key)}`);
          continue;
        }
        const [prop, field] = known;
        out[prop] = field.codec.decode(item, `${path}.${prop}`, ctx);
      }
      for (const [prop, field] of entries) {
        if (!field.optional && !(prop in out)) {
          throw new SchemaViolation(path, `${path}: required field ${prop} (key ${field.key}) is missing`);
        }
      }
      return out as StructOf<F>;
    },
    encode(value: StructOf<F>) {
      const map: CborMap = new Map();
      const record = value as Record<string, unknown>;
      for (const [prop, field] of entries) {
        const v = record[prop];
        if (v === undefined) {
          if (!field.optional) throw new TypeError(`${name}.${prop} is required`);
          continue;
        }
        map.set(field.key, field.codec.encode(v));
      }
      return map;
    },
  };
}
