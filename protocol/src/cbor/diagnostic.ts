import type { CborValue } from './value.js';

/** RFC 8949 §8 diagnostic notation, e.g. `{1: 500, 2: h'0a0b', 3: "x"}`: for traces, specs and vectors. */
export function diagnostic(value: CborValue): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array)
    return `h'${Array.from(value, (b) => b.toString(16).padStart(2, '0')).join('')}'`;
  if (Array.isArray(value)) return `[${value.map(diagnostic).join(', ')}]`;
  if (value instanceof Map)
    return `{${[...value].map(([k, v]) => `${diagnostic(k)}: ${diagnostic(v)}`).join(', ')}}`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && !Number.isInteger(value)) {
    return Number.isFinite(value)
      ? String(value).includes('.') || String(value).includes('e')
        ? String(value)
        : `${value}.0`
      : String(value);
  }
  return String(value);
}
