/**
 * Configuration errors are values, collected rather than thrown, so one run of the loader reports
 * every problem in the file at once.
 */

export type ConfigErrorCode =
  /** The file could not be read. */
  | 'io'
  /** The text is not valid YAML. */
  | 'syntax'
  /** A value has the wrong type. */
  | 'type'
  /** A number is outside its allowed range. */
  | 'range'
  /** A string is not one of the allowed values or has the wrong shape. */
  | 'value'
  | 'unknown_key'
  | 'missing'
  | 'duplicate'
  /** A name or address refers to nothing. */
  | 'reference'
  /** Settings that are fine alone but not together. */
  | 'conflict';

/** One segment of a key path: a map key or a list index. */
export type PathSegment = string | number;

export interface ConfigError {
  readonly code: ConfigErrorCode;
  /** The file (or source name) the error is in. */
  readonly file: string;
  /** Key path such as `buses[1].baud`; empty for the whole document. */
  readonly path: string;
  readonly message: string;
  /** 1-based position in the file, when known. */
  readonly line?: number;
  readonly column?: number;
}

/** `['buses', 1, 'baud']` → `buses[1].baud`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** The one-line form a person reads: `board.yaml:12:5: buses[1].baud: must be …`. */
export function formatConfigError(e: ConfigError): string {
  const where = e.line === undefined ? e.file : `${e.file}:${e.line}:${e.column ?? 1}`;
  return e.path === '' ? `${where}: ${e.message}` : `${where}: ${e.path}: ${e.message}`;
}
