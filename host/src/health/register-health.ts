import type { HealthState, StateEvidence } from './types.js';

/** A third-party Modbus device watched through register reads (it has no mcubus firmware). */
export interface RegisterProbe {
  readonly bus: string;
  readonly slave: number;
  readonly fn: 0x03 | 0x04;
  readonly start: number;
  readonly quantity: number;
  /** Every register read must lie in this range, else the device is degraded. */
  readonly expect?: { readonly min: number; readonly max: number };
}

/** Third-party devices have no mcubus address; they are shown as 0x100 + their slave address. */
export const thirdPartyAddress = (slave: number): number => 0x100 + slave;

export interface RegisterStateEvent {
  readonly kind: 'state';
  readonly device: number;
  readonly from: HealthState;
  readonly to: HealthState;
  readonly atUs: number;
  readonly evidence: StateEvidence & { readonly values?: readonly number[] };
}

/** Failed reads in a row that make a device down (one is a glitch, three is an answer). */
const DOWN_AFTER_FAILURES = 3;

/**
 * Health of one third-party device from its register reads (sans-IO): in range → up, out of range →
 * degraded, no answer → suspect, then down after three failed reads in a row.
 */
export class RegisterHealth {
  #state: HealthState = 'unknown';
  #failures = 0;
  #lastValues: number[] | null = null;

  constructor(readonly probe: RegisterProbe) {}

  get state(): HealthState {
    return this.#state;
  }

  get lastValues(): readonly number[] | null {
    return this.#lastValues;
  }

  result(
    outcome: { ok: true; values: number[] } | { ok: false; error: string },
    nowUs: number,
  ): RegisterStateEvent | null {
    let next: HealthState;
    let evidence: RegisterStateEvent['evidence'];
    if (outcome.ok) {
      this.#failures = 0;
      this.#lastValues = outcome.values;
      const e = this.probe.expect;
      const bad = e ? outcome.values.filter((v) => v < e.min || v > e.max) : [];
      next = bad.length > 0 ? 'degraded' : 'up';
      evidence = {
        values: outcome.values,
        ...(bad.length > 0 && e
          ? { reason: `register value(s) ${bad.join(', ')} outside ${e.min}…${e.max}` }
          : {}),
      };
    } else {
      this.#failures++;
      next =
        this.#failures >= DOWN_AFTER_FAILURES ? 'down' : this.#state === 'unknown' ? 'unknown' : 'suspect';
      evidence = { reason: `${this.#failures} read(s) failed: ${outcome.error}` };
    }
    if (next === this.#state) return null;
    const event: RegisterStateEvent = {
      kind: 'state',
      device: thirdPartyAddress(this.probe.slave),
      from: this.#state,
      to: next,
      atUs: nowUs,
      evidence,
    };
    this.#state = next;
    return event;
  }
}
