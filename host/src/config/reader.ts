import type { ConfigError, ConfigErrorCode, PathSegment } from './errors.js';
import { formatPath } from './errors.js';
import { suggest } from './suggest.js';

/** Where a key path sits in the source text, when the source is text. */
export type Locate = (path: readonly PathSegment[]) => { line: number; column: number } | undefined;

export type Path = readonly PathSegment[];
export type RawMap = Readonly<Record<string, unknown>>;

interface IntRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Typed reads of an untyped document that record an error and return `undefined` instead of
 * throwing, so validation carries on and reports every problem in one pass.
 */
export class Reader {
  readonly errors: ConfigError[] = [];

  constructor(
    readonly file: string,
    private readonly locate: Locate = () => undefined,
  ) {}

  report(code: ConfigErrorCode, path: Path, message: string): void {
    const pos = this.locate(path);
    this.errors.push({ code, file: this.file, path: formatPath(path), message, ...pos });
  }

  /** A mapping whose keys must all be in `known`; unknown keys are reported with a suggestion. */
  map(value: unknown, path: Path, known: readonly string[]): RawMap | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.report('type', path, `expected a mapping, got ${describe(value)}`);
      return undefined;
    }
    const map = value as RawMap;
    for (const key of Object.keys(map)) {
      if (known.includes(key)) continue;
      const hint = suggest(key, known);
      this.report('unknown_key', [...path, key], `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`);
    }
    return map;
  }

  list(value: unknown, path: Path): readonly unknown[] | undefined {
    if (Array.isArray(value)) return value;
    this.report('type', path, `expected a list, got ${describe(value)}`);
    return undefined;
  }

  int(value: unknown, path: Path, range: IntRange): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.report('type', path, `expected an integer, got ${describe(value)}`);
      return undefined;
    }
    if (value < range.min || value > range.max) {
      this.report('range', path, `must be between ${range.min} and ${range.max}, got ${value}`);
      return undefined;
    }
    return value;
  }

  number(value: unknown, path: Path): number | undefined {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    this.report('type', path, `expected a number, got ${describe(value)}`);
    return undefined;
  }

  bool(value: unknown, path: Path): boolean | undefined {
    if (typeof value === 'boolean') return value;
    this.report('type', path, `expected true or false, got ${describe(value)}`);
    return undefined;
  }

  string(value: unknown, path: Path): string | undefined {
    if (typeof value === 'string' && value !== '') return value;
    this.report('type', path, `expected a non-empty string, got ${describe(value)}`);
    return undefined;
  }

  /** A string matching `pattern`; `shape` says in words what was expected. */
  pattern(value: unknown, path: Path, pattern: RegExp, shape: string): string | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    if (pattern.test(s)) return s;
    this.report('value', path, `expected ${shape}, got "${s}"`);
    return undefined;
  }

  oneOf<T extends string>(value: unknown, path: Path, options: readonly T[]): T | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    if ((options as readonly string[]).includes(s)) return s as T;
    const hint = suggest(s, options);
    this.report(
      'value',
      path,
      `must be one of ${options.join(', ')}, got "${s}"${hint ? ` (did you mean "${hint}"?)` : ''}`,
    );
    return undefined;
  }

  /** A required key: reports it missing, else reads it. */
  need<T>(map: RawMap, key: string, path: Path, read: (v: unknown, p: Path) => T | undefined): T | undefined {
    if (!(key in map)) {
      this.report('missing', [...path, key], 'required key is missing');
      return undefined;
    }
    return read(map[key], [...path, key]);
  }

  /** An optional key: absent means `undefined` (no default). */
  maybe<T>(
    map: RawMap,
    key: string,
    path: Path,
    read: (v: unknown, p: Path) => T | undefined,
  ): T | undefined {
    return key in map ? read(map[key], [...path, key]) : undefined;
  }

  /** An optional key with a default. A wrong value also yields the default; the error is recorded. */
  or<T>(map: RawMap, key: string, path: Path, read: (v: unknown, p: Path) => T | undefined, fallback: T): T {
    return this.maybe(map, key, path, read) ?? fallback;
  }
}

/** A value in an error message: its YAML type and, for scalars, the value itself. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `string "${value}"`;
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  return `${typeof value} ${String(value)}`;
}
