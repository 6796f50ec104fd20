import { readFile } from 'node:fs/promises';
import type { Result } from '@mcubus/protocol';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { ConfigError, PathSegment } from './errors.js';
import type { Locate } from './reader.js';
import type { DaemonConfig } from './types.js';
import { validateConfig } from './validate.js';

/** Parses and validates one YAML configuration text; `sourceName` names it in errors. */
export function parseConfig(text: string, sourceName: string): Result<DaemonConfig, ConfigError[]> {
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
  return validateConfig(doc.toJS({ maxAliasCount: 100 }), sourceName, locate);
}

/** Reads and parses a configuration file; a file that cannot be read is an `io` error. */
export async function loadConfig(path: string): Promise<Result<DaemonConfig, ConfigError[]>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return {
      ok: false,
      error: [{ code: 'io', file: path, path: '', message: `cannot read file: ${reason}` }],
    };
  }
  return parseConfig(text, path);
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
