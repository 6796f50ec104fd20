import fc from 'fast-check';
import { type CborValue, MESSAGE_NAMES, MESSAGES, type Message, schema } from '../../src/index.js';

/** Builds a fast-check arbitrary for any value a schema shape accepts (optional fields sometimes absent). */
export function arbitraryFor(shape: schema.Shape): fc.Arbitrary<unknown> {
  switch (shape.kind) {
    case 'uint':
      return fc.oneof(fc.integer({ min: 0, max: Math.min(shape.max, 1000) }), fc.constantFrom(0, shape.max));
    case 'int':
      return fc.oneof(fc.integer(), fc.constantFrom(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -1, 0));
    case 'number':
      return fc.oneof(
        fc.integer(),
        fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)),
      );
    case 'bool':
      return fc.boolean();
    case 'text':
      return fc
        .string({ maxLength: Math.min(shape.maxBytes, 40), unit: 'grapheme' })
        .filter((t) => schema.utf8Length(t) <= shape.maxBytes);
    case 'bytes':
      return fc.uint8Array({ minLength: shape.min, maxLength: Math.min(shape.max, 300) });
    case 'array':
      return fc.array(arbitraryFor(shape.item), { minLength: shape.min, maxLength: Math.min(shape.max, 5) });
    case 'uintMap':
      return fc
        .array(fc.tuple(fc.integer({ min: 0, max: 100 }), arbitraryFor(shape.value)), { maxLength: 5 })
        .map((entries) => new Map(entries));
    case 'any':
      return cborValue;
    case 'struct': {
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      const optional: string[] = [];
      for (const f of shape.fields) {
        record[f.name] = arbitraryFor(f.shape);
        if (f.optional) optional.push(f.name);
      }
      const required = shape.fields.filter((f) => !f.optional).map((f) => f.name);
      return fc.record(record, { requiredKeys: required });
    }
  }
}

/** Any value of the mcubus CBOR subset. */
export const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer(),
    fc.constantFrom(
      0,
      23,
      24,
      255,
      256,
      65535,
      65536,
      2 ** 32 - 1,
      2 ** 32,
      Number.MAX_SAFE_INTEGER,
      -1,
      -24,
      -25,
    ),
    fc.double({ noNaN: true }).filter((d) => !Number.isSafeInteger(d) && !Object.is(d, -0)),
    fc.string({ maxLength: 30 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc
      .array(
        fc.tuple(fc.oneof(fc.integer({ min: -100, max: 1000 }), fc.string({ maxLength: 5 })), tie('value')),
        {
          maxLength: 4,
        },
      )
      .map((entries) => new Map(entries)),
  ),
})).value;

export const messageOf = (name: (typeof MESSAGE_NAMES)[number]): fc.Arbitrary<Message> =>
  arbitraryFor(MESSAGES[name].schema.shape).map((body) => ({ type: name, body }) as Message);

export const anyMessage: fc.Arbitrary<Message> = fc.oneof(...MESSAGE_NAMES.map(messageOf));

export const header = fc.record({
  dst: fc.integer({ min: 0, max: 255 }),
  src: fc.integer({ min: 0, max: 255 }),
  seq: fc.integer({ min: 0, max: 0xffff }),
  ttl: fc.integer({ min: 0, max: 255 }),
  response: fc.boolean(),
  retransmit: fc.boolean(),
  priority: fc.constantFrom(0, 1, 2, 3) as fc.Arbitrary<0 | 1 | 2 | 3>,
});
