import type { Prng } from '../kernel/prng.js';

const NONE: readonly number[] = Object.freeze([]);

/**
 * Independent Bernoulli trials with a small probability (bit errors, byte drops), drawn as geometric
 * gaps between events instead of one draw per trial: a 1 MB transfer at a bit error rate of 1e-6 costs
 * a handful of draws, not ten million. The result is the same process (each trial fails independently
 * with probability p); it is only a cheaper way of sampling it.
 */
export class RareEvents {
  /** Trials still to go before the next event. */
  #gap: number;

  constructor(
    readonly rng: Prng,
    readonly probability: number,
  ) {
    if (!(probability >= 0 && probability <= 1))
      throw new RangeError(`probability ${probability} is not in [0, 1]`);
    this.#gap = this.#draw();
  }

  /** Positions (0-based, ascending) in the next `trials` trials at which an event happens. */
  take(trials: number): readonly number[] {
    if (this.probability === 0) return NONE;
    if (this.#gap >= trials) {
      this.#gap -= trials;
      return NONE;
    }
    const out: number[] = [];
    while (this.#gap < trials) {
      out.push(this.#gap);
      this.#gap += 1 + this.#draw();
    }
    this.#gap -= trials;
    return out;
  }

  /** Number of failures before the next success, P(k) = (1−p)^k·p. */
  #draw(): number {
    const p = this.probability;
    if (p === 0) return Number.POSITIVE_INFINITY;
    if (p === 1) return 0;
    return Math.floor(Math.log(1 - this.rng.float()) / Math.log1p(-p));
  }
}
