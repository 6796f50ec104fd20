import { readFile } from 'node:fs/promises';
import type { Result } from '@mcubus/protocol';
import type { ConfigError } from './errors.js';
import type { DaemonConfig } from './types.js';
import { validateConfig } from './validate.js';
import { parseYamlSource } from './yaml-source.js';

/** Parses and validates one YAML configuration text; `sourceName` names it in errors. */
export function parseConfig(text: string, sourceName: string): Result<DaemonConfig, ConfigError[]> {
  const source = parseYamlSource(text, sourceName);
  if (!source.ok) return source;
  return validateConfig(source.value.value, sourceName, source.value.locate);
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
