/**
 * Round-trip estimation per destination, as in RFC 6298 (α = 1/8, β = 1/4, RTO = SRTT + 4·RTTVAR,
 * clamped). All values are in microseconds. Karn's rule is the caller's job: only feed samples from
 * requests that were sent exactly once.
 */
export interface RttConfig {
  /** RTO before the first sample. */
  readonly initialUs: number;
  readonly minUs: number;
  readonly maxUs: number;
}

export interface RttStats {
  /** Smoothed RTT, undefined before the first sample. */
  readonly srttUs: number | undefined;
  readonly rttvarUs: number | undefined;
  /** The retransmission timeout a new request to this destination would use (first attempt). */
  readonly rtoUs: number;
  readonly samples: number;
  /** The last sample taken. */
  readonly lastUs: number | undefined;
}

export class RttEstimator {
  #srtt: number | undefined;
  #rttvar: number | undefined;
  #samples = 0;
  #last: number | undefined;

  constructor(readonly config: RttConfig) {}

  sample(rttUs: number): void {
    const r = Math.max(0, rttUs);
    this.#last = r;
    this.#samples++;
    if (this.#srtt === undefined || this.#rttvar === undefined) {
      this.#srtt = r;
      this.#rttvar = r / 2;
      return;
    }
    // RTTVAR first, with the old SRTT (RFC 6298 §2.3).
    this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
    this.#srtt = 0.875 * this.#srtt + 0.125 * r;
  }

  rtoUs(): number {
    const { initialUs, minUs, maxUs } = this.config;
    if (this.#srtt === undefined || this.#rttvar === undefined) return clamp(initialUs, minUs, maxUs);
    return clamp(this.#srtt + 4 * this.#rttvar, minUs, maxUs);
  }

  stats(): RttStats {
    return {
      srttUs: this.#srtt,
      rttvarUs: this.#rttvar,
      rtoUs: this.rtoUs(),
      samples: this.#samples,
      lastUs: this.#last,
    };
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
