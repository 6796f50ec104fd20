import type { Path, Reader } from './reader.js';
import type { CaptureConfig } from './types.js';

export const CAPTURE_DEFAULTS = {
  maxFileBytes: 16 * 1024 * 1024,
  files: 10,
} as const;

/**
 * `capture`: the daemon's rotating packet capture (docs/observability.md "Captures"). Absent: no
 * capture. Present: on unless `enabled: false`, every bus unless `buses` names some.
 */
export function readCapture(
  r: Reader,
  value: unknown,
  path: Path,
  stateDir: string,
  busNames: ReadonlySet<string>,
): CaptureConfig | undefined {
  const m = r.map(value ?? {}, path, ['enabled', 'directory', 'maxFileBytes', 'files', 'buses']);
  if (m === undefined) return undefined;
  const enabled = r.or(m, 'enabled', path, (v, p) => r.bool(v, p), true);
  const directory = r.or(
    m,
    'directory',
    path,
    (v, p) => r.string(v, p),
    `${stateDir.replace(/\/+$/, '')}/captures`,
  );
  // Below 4 KiB a file would hold little more than its header.
  const maxFileBytes = r.or(
    m,
    'maxFileBytes',
    path,
    (v, p) => r.int(v, p, { min: 4096, max: 2 ** 40 }),
    CAPTURE_DEFAULTS.maxFileBytes,
  );
  const files = r.or(
    m,
    'files',
    path,
    (v, p) => r.int(v, p, { min: 1, max: 100_000 }),
    CAPTURE_DEFAULTS.files,
  );
  const buses: string[] = [];
  const list = r.maybe(m, 'buses', path, (v, p) => r.list(v, p)) ?? [];
  list.forEach((v, i) => {
    const name = r.string(v, [...path, 'buses', i]);
    if (name === undefined) return;
    if (!busNames.has(name)) r.report('reference', [...path, 'buses', i], `no bus is named "${name}"`);
    else buses.push(name);
  });
  return { enabled, directory, maxFileBytes, files, buses };
}
