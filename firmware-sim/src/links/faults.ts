import type { Prng } from '../kernel/prng.js';
import type { SimTime } from '../kernel/scheduler.js';

/**
 * A fault rule of a link, as data (scenarios are data). Probabilities are per unit the link transfers
 * (a UART write, a CAN frame, a Modbus ADU). A rule applies between `from` and `until` (virtual ns),
 * optionally only to one direction/sender, and draws its randomness from the link's seeded stream.
 */
export interface FaultRule {
  readonly from?: SimTime;
  readonly until?: SimTime;
  /** Only units sent by this endpoint / node (by name). */
  readonly sender?: string;
  readonly drop?: number;
  readonly duplicate?: number;
  /** Flip one random bit in the unit. */
  readonly corrupt?: number;
  /** Extra latency. */
  readonly delay?: { readonly probability: number; readonly minNs: SimTime; readonly maxNs: SimTime };
  /** CAN only: let the next frame overtake this one. */
  readonly reorder?: number;
  /** Deterministic variant: act on the Nth matching unit only (1-based), instead of at random. */
  readonly nth?: number;
}

export interface FaultDecision {
  drop: boolean;
  duplicate: boolean;
  corruptBit: number | null;
  extraDelayNs: SimTime;
  reorder: boolean;
}

/** Evaluates a link's rules for one unit. Keeps per-rule match counts for `nth`. */
export class FaultPlan {
  readonly #counts: number[];

  constructor(
    readonly rules: readonly FaultRule[],
    readonly rng: Prng,
  ) {
    this.#counts = rules.map(() => 0);
  }

  decide(now: SimTime, sender: string, unitBits: number): FaultDecision {
    const d: FaultDecision = {
      drop: false,
      duplicate: false,
      corruptBit: null,
      extraDelayNs: 0,
      reorder: false,
    };
    this.rules.forEach((rule, i) => {
      if (rule.from !== undefined && now < rule.from) return;
      if (rule.until !== undefined && now >= rule.until) return;
      if (rule.sender !== undefined && rule.sender !== sender) return;
      const n = ++this.#counts[i]!;
      const hit = (p: number | undefined) =>
        rule.nth !== undefined ? n === rule.nth && (p ?? 0) > 0 : this.rng.chance(p ?? 0);
      if (hit(rule.drop)) d.drop = true;
      if (hit(rule.duplicate)) d.duplicate = true;
      if (hit(rule.corrupt) && unitBits > 0) d.corruptBit = this.rng.int(unitBits);
      if (rule.delay && hit(rule.delay.probability))
        d.extraDelayNs += this.rng.range(rule.delay.minNs, rule.delay.maxNs);
      if (hit(rule.reorder)) d.reorder = true;
    });
    return d;
  }
}

/** Flips bit `bit` (0 = LSB of byte 0) of a copy of `bytes`. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  const i = bit >> 3;
  if (i < out.length) out[i]! ^= 1 << (bit & 7);
  return out;
}
