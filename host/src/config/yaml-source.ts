import type { Result } from '@mcubus/protocol';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { ConfigError, PathSegment } from './errors.js';
import type { Locate } from './reader.js';

/** A YAML text as plain data, plus where each key path sits in it (for file:line:col errors). */
export interface YamlSource {
  readonly value: unknown;
  readonly locate: Locate;
}

/**
 * Parses a YAML text; syntax errors are `syntax` ConfigErrors at their line and column. Shared by the
 * daemon's configuration and other YAML files of the project (the HIL rig file), so both report
 * positions alike.
 */
export function parseYamlSource(text: string, sourceName: string): Result<YamlSource, ConfigError[]> {
  const lineCounter = new LineCounter();
  // uniqueKeys (the default) makes a repeated key a syntax error instead of a silent override.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      error: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          code: 'syntax',
          file: sourceName,
          path: '',
          message: e.message.split('\n')[0]!,
          line: pos.line,
          column: pos.col,
        } satisfies ConfigError;
      }),
    };
  }
  const locate: Locate = (path) => {
    const offset = offsetOf(doc.contents, path);
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  // toJS throws (ReferenceError) on an alias whose anchor is missing or defined later, and on alias
  // expansion past maxAliasCount: both are faults of the text, so they are syntax errors too.
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return {
      ok: false,
      error: [{ code: 'syntax', file: sourceName, path: '', message: (e as Error).message.split('\n')[0]! }],
    };
  }
  return { ok: true, value: { value, locate } };
}

/**
 * Text offset of the deepest node on `path` that exists: the key itself for a map entry (that is
 * the line a person looks for), the parent for a missing key.
 */
function offsetOf(root: unknown, path: readonly PathSegment[]): number | undefined {
  let node = root as Node | null;
  let offset = node?.range?.[0];
  for (const seg of path) {
    if (isMap(node) && typeof seg === 'string') {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
      if (pair === undefined) break;
      offset = isScalar(pair.key) ? (pair.key.range?.[0] ?? offset) : offset;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (item === undefined) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
