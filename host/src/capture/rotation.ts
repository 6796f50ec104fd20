/**
 * Naming and rotation of the daemon's capture files, sans-IO: `mcubus-000042-20260101T120000Z.pcapng`,
 * the sequence number first so that names sort in the order the files were started, whatever the
 * wall clock did; the UTC start time after it for people.
 */

export interface RotationLimits {
  /** A file is closed before a packet would take it past this size (its header always fits). */
  readonly maxFileBytes: number;
  /** Files kept, the one being written included; older ones are deleted. */
  readonly files: number;
}

const NAME = /^mcubus-(\d{6,})-\d{8}T\d{6}Z\.pcapng$/;

export function captureFileName(seq: number, wallMs: number): string {
  const stamp = new Date(wallMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `mcubus-${String(seq).padStart(6, '0')}-${stamp}.pcapng`;
}

/** The sequence number of a capture file's name, or undefined for any other file. */
export function captureFileSeq(name: string): number | undefined {
  const m = NAME.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The next sequence number after the capture files already in a directory (1 when there are none). */
export function nextSeq(names: readonly string[]): number {
  let max = 0;
  for (const n of names) max = Math.max(max, captureFileSeq(n) ?? 0);
  return max + 1;
}

/**
 * Whether `chunk` bytes still go into the current file: always into a file that holds only its
 * header (a packet larger than the limit still gets a file), else only when the file stays within
 * the limit.
 */
export function fitsInFile(
  fileBytes: number,
  headerBytes: number,
  chunk: number,
  limits: RotationLimits,
): boolean {
  return fileBytes <= headerBytes || fileBytes + chunk <= limits.maxFileBytes;
}

/** Capture files to delete so that `limits.files` remain, the newest (highest sequence) kept. */
export function expiredFiles(names: readonly string[], limits: RotationLimits): string[] {
  const ours = names
    .map((name) => ({ name, seq: captureFileSeq(name) }))
    .filter((f): f is { name: string; seq: number } => f.seq !== undefined)
    .sort((a, b) => b.seq - a.seq);
  return ours.slice(limits.files).map((f) => f.name);
}
