export { type CborError, type CborErrorCode, decodeCbor } from './decode.js';
export { diagnostic } from './diagnostic.js';
export { CborWriter, encodeCbor } from './encode.js';
export { CBOR_MAX_DEPTH, type CborMap, type CborValue } from './value.js';
