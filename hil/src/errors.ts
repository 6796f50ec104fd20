import { type ConfigError, formatConfigError } from '@mcubus/host';

/** The rig file is wrong: every problem found, each with file:line:col like the daemon's config errors. */
export class RigFileError extends Error {
  constructor(readonly problems: readonly ConfigError[]) {
    super(problems.map(formatConfigError).join('\n'));
    this.name = 'RigFileError';
  }
}

/** The command line is wrong. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * The rig could not be brought up (a device process that does not start, a daemon that does not
 * answer): no suite can say anything then, so the run stops and says what failed.
 */
export class RigSetupError extends Error {
  override name = 'RigSetupError';
}

/** A state waited for did not come in time; `seen` tells what was there instead. */
export class WaitTimeout extends Error {
  override name = 'WaitTimeout';
  constructor(
    readonly what: string,
    readonly ms: number,
    readonly seen: string,
  ) {
    super(`${what}: not reached within ${(ms / 1000).toFixed(1)} s${seen ? `; last seen ${seen}` : ''}`);
  }
}
