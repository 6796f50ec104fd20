/** Why the registry refused or failed; lets the daemon tell "fix the file" apart from "another daemon runs". */
export type RegistryErrorCode =
  | 'unwritable' // the state directory or database file cannot be created or written
  | 'corrupt' // the file is not an SQLite database or is damaged
  | 'locked' // another process holds the database
  | 'schema-too-new' // written by a newer mcubus than this one
  | 'migration-failed'
  | 'closed' // used after close()
  | 'invalid-argument'
  | 'sqlite'; // any other SQLite failure

/** Every failure that leaves the registry is one of these, naming the database file it concerns. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options);
  }
}

/** Maps an SQLite or file-system error to a RegistryError; `what` says what was being done. */
export function toRegistryError(err: unknown, path: string, what: string): RegistryError {
  if (err instanceof RegistryError) return err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new RegistryError('corrupt', path, `${what}: not a valid mcubus database (${detail})`, {
      cause: err,
    });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new RegistryError('locked', path, `${what}: database is locked by another process (${detail})`, {
      cause: err,
    });
  }
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_PERM') ||
    code === 'EACCES' ||
    code === 'EPERM' ||
    code === 'ENOTDIR' ||
    code === 'EROFS' ||
    code === 'EEXIST'
  ) {
    return new RegistryError('unwritable', path, `${what}: cannot create or write (${detail})`, {
      cause: err,
    });
  }
  return new RegistryError('sqlite', path, `${what}: ${detail}`, { cause: err });
}
