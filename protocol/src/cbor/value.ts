/**
 * The CBOR data model mcubus uses (a strict subset of RFC 8949, see docs/protocol.md §CBOR):
 * integers, byte and text strings, arrays, maps with integer or text keys, booleans, null and floats.
 * No tags, no indefinite lengths, no `undefined`: a C decoder on an MCU stays small.
 */
export type CborValue = number | bigint | string | Uint8Array | boolean | null | CborValue[] | CborMap;

export type CborMap = Map<number | string, CborValue>;

export const CBOR_MAX_DEPTH = 16;
