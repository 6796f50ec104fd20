import { decodeCbor } from '../cbor/decode.js';
import { encodeCbor } from '../cbor/encode.js';
import type { CborValue } from '../cbor/value.js';
import { type CodedError, err, ok, type Result } from '../result.js';
import { type Codec, type DecodeContext, SchemaViolation } from '../schema/index.js';
import { MESSAGES, type Message, type MessageName, messageNameOf } from './catalogue.js';

export type MessageErrorCode = 'bad_cbor' | 'schema';
export interface MessageError extends CodedError<MessageErrorCode> {
  /** The message type code the body was meant for. */
  readonly typeCode: number;
  /** Where in the body it failed: a CBOR byte offset or a field path. */
  readonly at: string;
}

/** A decoded body: known types come typed; unknown types are surfaced raw, never an error. */
export type DecodedMessage =
  | (Message & { readonly unknownKeys: readonly string[] })
  | {
      readonly type: 'unknown';
      readonly code: number;
      readonly body: CborValue;
      readonly unknownKeys: readonly string[];
    };

export function encodeMessageBody(message: Message): Uint8Array {
  const codec = MESSAGES[message.type].schema as unknown as Codec<unknown>;
  return encodeCbor(codec.encode(message.body));
}

export function decodeMessageBody(typeCode: number, body: Uint8Array): Result<DecodedMessage, MessageError> {
  const cbor = decodeCbor(body);
  if (!cbor.ok) {
    return err({
      code: 'bad_cbor',
      message: `body of type 0x${typeCode.toString(16)} is not valid CBOR: ${cbor.error.message} (${cbor.error.code})`,
      typeCode,
      at: `byte ${cbor.error.offset}`,
    });
  }
  const name = messageNameOf(typeCode);
  if (name === undefined) return ok({ type: 'unknown', code: typeCode, body: cbor.value, unknownKeys: [] });
  return validateBody(name, typeCode, cbor.value);
}

function validateBody(
  name: MessageName,
  typeCode: number,
  value: CborValue,
): Result<DecodedMessage, MessageError> {
  const ctx: DecodeContext = { unknownKeys: [] };
  const codec = MESSAGES[name].schema as unknown as Codec<unknown>;
  try {
    const body = codec.decode(value, name, ctx);
    return ok({ type: name, body, unknownKeys: ctx.unknownKeys } as DecodedMessage);
  } catch (e) {
    if (e instanceof SchemaViolation)
      return err({ code: 'schema', message: e.message, typeCode, at: e.path });
    throw e;
  }
}
