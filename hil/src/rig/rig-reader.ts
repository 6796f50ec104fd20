import { isAbsolute, resolve } from 'node:path';
import { type Locate, type PathSegment, Reader } from '@mcubus/host';
import { type RigVars, substitute } from './substitute.js';

type Path = readonly PathSegment[];

/**
 * The daemon config's typed reader, plus what a rig file needs on top: `${work}`/`${rig}` in strings,
 * paths relative to the rig file, commands, addresses and regular expressions.
 */
export class RigReader extends Reader {
  constructor(
    file: string,
    locate: Locate,
    readonly vars: RigVars,
  ) {
    super(file, locate);
  }

  /** A non-empty string with its variables substituted. */
  text(value: unknown, path: Path): string | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    const r = substitute(s, this.vars);
    if (r.ok) return r.text;
    this.report('value', path, `unknown variable ${r.unknown} (known: \${work}, \${rig})`);
    return undefined;
  }

  /** A path; relative ones are taken from the rig file's directory. */
  filePath(value: unknown, path: Path): string | undefined {
    const s = this.text(value, path);
    return s === undefined ? undefined : isAbsolute(s) ? s : resolve(this.vars.rig, s);
  }

  /** argv as a list of strings, or one string for the shell. */
  command(value: unknown, path: Path): string[] | undefined {
    if (typeof value === 'string') {
      const s = this.text(value, path);
      return s === undefined ? undefined : ['sh', '-c', s];
    }
    const items = Array.isArray(value) ? value : undefined;
    if (items === undefined || items.length === 0) {
      this.report('type', path, 'expected a command: a list of arguments or one string for sh -c');
      return undefined;
    }
    const argv = items.map((v, i) => this.text(v, [...path, i]));
    return argv.every((a) => a !== undefined) ? (argv as string[]) : undefined;
  }

  /** A node address a device can have (1–254: 0 is the host, 255 broadcast). */
  address(value: unknown, path: Path): number | undefined {
    return this.int(value, path, { min: 1, max: 254 });
  }

  regex(value: unknown, path: Path): RegExp | undefined {
    const s = this.string(value, path);
    if (s === undefined) return undefined;
    try {
      return new RegExp(s);
    } catch (e) {
      this.report('value', path, `not a regular expression: ${(e as Error).message}`);
      return undefined;
    }
  }

  positive(value: unknown, path: Path): number | undefined {
    const n = this.number(value, path);
    if (n === undefined) return undefined;
    if (n > 0) return n;
    this.report('range', path, `must be greater than 0, got ${n}`);
    return undefined;
  }

  /** Every string in a mapping or list, recursively, with variables substituted (the daemon's config). */
  deep(value: unknown, path: Path): unknown {
    if (typeof value === 'string') return value.includes('${') ? (this.text(value, path) ?? value) : value;
    if (Array.isArray(value)) return value.map((v, i) => this.deep(v, [...path, i]));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.deep(v, [...path, k])]));
    }
    return value;
  }
}
