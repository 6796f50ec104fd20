/**
 * Decoders in this package never throw on bad input: they return a Result whose error carries a
 * machine-readable `code` (counted by callers) and a human-readable `message`.
 */
export type Result<T, E> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export interface CodedError<C extends string = string> {
  readonly code: C;
  readonly message: string;
}

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

export function codedError<C extends string>(code: C, message: string): CodedError<C> {
  return { code, message };
}
