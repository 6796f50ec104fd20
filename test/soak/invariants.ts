/**
 * The soak's invariants, as a pure class over observations (the runner feeds it what it sees in the
 * simulator and the daemon). Each check counts how often it ran, and every failure is a violation with
 * the virtual time it was seen at, so a report says both "what was checked" and "what broke".
 */
export type Invariant = 'not_bricked' | 'update_hash' | 'journal' | 'health' | 'time_bound';

export interface Violation {
  readonly invariant: Invariant;
  readonly atMs: number;
  readonly detail: string;
}

/** At least this share of time samples must have |aligned − true| within the daemon's bound. */
export const TIME_BOUND_MIN_SHARE = 0.99;

export class InvariantChecker {
  readonly violations: Violation[] = [];
  readonly checks: Record<Invariant, number> = {
    not_bricked: 0,
    update_hash: 0,
    journal: 0,
    health: 0,
    time_bound: 0,
  };
  #timeSamples = 0;
  #timeContained = 0;

  #fail(invariant: Invariant, atMs: number, detail: string): void {
    this.violations.push({ invariant, atMs, detail });
  }

  /** End state: every MCU runs an application (none is stuck in its bootloader, off or hung). */
  mcuAtEnd(atMs: number, mcu: string, state: string, mode: 'app' | 'bootloader' | undefined): void {
    this.checks.not_bricked++;
    if (state !== 'running' || mode !== 'app')
      this.#fail('not_bricked', atMs, `${mcu} is ${state}${mode ? ` in ${mode} mode` : ''}`);
  }

  /** A campaign item finished: the device must run exactly the image it was sent (hex SHA-256). */
  updateDone(atMs: number, device: string, expectedSha: string, runningSha: string | undefined): void {
    this.checks.update_hash++;
    if (runningSha !== expectedSha)
      this.#fail('update_hash', atMs, `${device}: runs ${runningSha ?? 'no image'}, expected ${expectedSha}`);
  }

  /**
   * Journal: the ids the daemon announced (`announced`, in order) are all stored, and the stored ids
   * (ascending) have no gaps — an entry lost between the daemon and SQLite shows up as either.
   */
  journal(atMs: number, announced: readonly number[], stored: readonly number[]): void {
    this.checks.journal++;
    for (let i = 1; i < stored.length; i++) {
      if (stored[i] !== stored[i - 1]! + 1) {
        this.#fail('journal', atMs, `ids jump from ${stored[i - 1]} to ${stored[i]}`);
        break;
      }
    }
    const have = new Set(stored);
    const missing = announced.filter((id) => !have.has(id));
    if (missing.length > 0)
      this.#fail('journal', atMs, `${missing.length} announced entries not in SQLite (first ${missing[0]})`);
  }

  /** Health: the daemon's state for a device must be one of `allowed` (what the truth implies). */
  health(atMs: number, device: string, state: string | undefined, allowed: readonly string[]): void {
    this.checks.health++;
    if (state === undefined || !allowed.includes(state))
      this.#fail(
        'health',
        atMs,
        `${device} is ${state ?? 'unknown to the daemon'}, expected ${allowed.join('|')}`,
      );
  }

  /** One time-alignment sample: the true error and the bound the daemon claimed. */
  timeSample(errorUs: number, boundUs: number): void {
    this.#timeSamples++;
    if (errorUs <= boundUs) this.#timeContained++;
  }

  get timeShare(): { samples: number; contained: number } {
    return { samples: this.#timeSamples, contained: this.#timeContained };
  }

  /** End of run: the bound must have held for ≥ 99 % of the samples. */
  finish(atMs: number): void {
    if (this.#timeSamples === 0) return;
    this.checks.time_bound++;
    const share = this.#timeContained / this.#timeSamples;
    if (share < TIME_BOUND_MIN_SHARE)
      this.#fail(
        'time_bound',
        atMs,
        `bound held for ${this.#timeContained}/${this.#timeSamples} samples (${(share * 100).toFixed(2)} %)`,
      );
  }
}
