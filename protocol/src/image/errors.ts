import type { CodedError } from '../result.js';

/**
 * Why a manifest or signed envelope was refused. `bad_cbor` and `schema` are the message codes
 * (docs/protocol.md §3–§4); `unknown_key`: the envelope names a key id that is not trusted (or no key is
 * trusted at all); `bad_signature`: no trusted key verifies the signature.
 */
export type ImageErrorCode = 'bad_cbor' | 'schema' | 'unknown_key' | 'bad_signature';

export interface ImageError extends CodedError<ImageErrorCode> {
  /** Where it failed: a CBOR byte offset or a field path. */
  readonly at: string;
}

/** Why image bytes do not match their manifest. */
export type ImageCheckCode = 'size_mismatch' | 'hash_mismatch';
export type ImageCheckError = CodedError<ImageCheckCode>;
