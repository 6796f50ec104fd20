import { spawnSync } from 'node:child_process';

/** CI sets MCUBUS_REQUIRE_ALL=1: then a missing tool that CI can install is a failure, not a skip. */
export const REQUIRE_ALL = process.env.MCUBUS_REQUIRE_ALL === '1';

export interface Requirement {
  readonly ok: boolean;
  /** Why it is missing (for the skip message). */
  readonly reason: string;
}

export function commandAvailable(command: string, installHint: string): Requirement {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return r.status === 0
    ? { ok: true, reason: '' }
    : { ok: false, reason: `${command} is not installed (${installHint})` };
}

/**
 * Whether to run tests that need `req`: they run when it is there; when it is not, they are skipped
 * with the reason printed — unless MCUBUS_REQUIRE_ALL=1, where they run and fail on the missing piece.
 */
export function shouldSkip(req: Requirement): boolean {
  if (req.ok) return false;
  if (REQUIRE_ALL) return false;
  console.warn(`skipped: ${req.reason}`);
  return true;
}

export function assertAvailable(req: Requirement): void {
  if (!req.ok) throw new Error(`${req.reason}; MCUBUS_REQUIRE_ALL=1 makes this a failure`);
}
