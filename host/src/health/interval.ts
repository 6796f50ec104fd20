/**
 * Adaptive heartbeat-interval estimator (φ-accrual style) and the detector's deadlines.
 *
 * Deadlines, with P the heartbeat period and t0 the last heartbeat the device is known to have sent:
 * - suspect at t0 + clamp(mean + 4·max(std, 0.05·mean), 1.1·P, 1.5·P), then probe;
 * - down at t0 + 2.3·P if nothing (heartbeat, frame, probe answer) came back.
 *
 * Why these numbers: detection is at most 2.3·P after the last heartbeat, inside the 2.5·P budget
 * with 0.2·P to spare for the caller's scheduling. A false "down" needs the heartbeats at t0+P and
 * t0+2P both lost (one arriving before 2.3·P clears the suspicion) AND every probe between the
 * suspicion (≤ 1.5·P) and 2.3·P lost: a window of ≥ 0.8·P. For P = 1 s at one probe every 50 ms that
 * is 0.8 s / 50 ms = 16 probes; on a 10 %-lossy link 0.1² · 0.1¹⁶ = 1e-18 per period, i.e. it takes
 * ~16 lost probes in a row to cry wolf. For short periods the probe spacing shrinks to window/16
 * (`probeSpacingUs`), so the same 16-probe argument holds at any period.
 */

/** Samples kept: enough for a stable std, few enough to follow a device that changes its period. */
const WINDOW = 50;
/** Until this many samples the announced period is a better guess than a noisy mean. */
const MIN_SAMPLES = 3;
const STD_FLOOR = 0.05;
const STD_FACTOR = 4;
export const SUSPECT_MIN = 1.1;
export const SUSPECT_MAX = 1.5;
export const DOWN_AFTER = 2.3;
/** Probes that must fit in the window between the latest suspicion and the down deadline. */
export const PROBES_PER_WINDOW = 16;

export class IntervalEstimator {
  private readonly samples: number[] = [];
  private next = 0;

  /**
   * Records the gap between two received heartbeats. A gap spanning k periods means k-1 heartbeats
   * were lost, not that the device slowed down, so it counts as k samples of gap/k: otherwise a
   * lossy link would inflate the mean and delay detection.
   */
  add(gapUs: number, periodUs: number): void {
    if (!(gapUs > 0)) return;
    const k = gapUs > SUSPECT_MAX * periodUs ? Math.max(1, Math.round(gapUs / periodUs)) : 1;
    // Long outages (the device was down) would flood the window with one guess; cap the repeats.
    for (let i = 0; i < Math.min(k, 3); i++) this.push(gapUs / k);
  }

  private push(v: number): void {
    if (this.samples.length < WINDOW) this.samples.push(v);
    else this.samples[this.next] = v;
    this.next = (this.next + 1) % WINDOW;
  }

  get count(): number {
    return this.samples.length;
  }

  /** Expected interval: the mean of the samples, or `periodUs` until there are enough of them. */
  mean(periodUs: number): number {
    if (this.samples.length < MIN_SAMPLES) return periodUs;
    let sum = 0;
    for (const s of this.samples) sum += s;
    return sum / this.samples.length;
  }

  std(): number {
    const n = this.samples.length;
    if (n < MIN_SAMPLES) return 0;
    const m = this.mean(0);
    let sq = 0;
    for (const s of this.samples) sq += (s - m) ** 2;
    return Math.sqrt(sq / (n - 1));
  }

  /** Silence (µs after the last heartbeat) after which the device is suspect. */
  suspectAfterUs(periodUs: number): number {
    const mean = this.mean(periodUs);
    const raw = mean + STD_FACTOR * Math.max(this.std(), STD_FLOOR * mean);
    return Math.min(SUSPECT_MAX * periodUs, Math.max(SUSPECT_MIN * periodUs, raw));
  }
}

/** Silence (µs after the last heartbeat) after which a device whose probes all failed is down. */
export function downAfterUs(periodUs: number): number {
  return DOWN_AFTER * periodUs;
}

/** Probe spacing: the configured one, tightened so ≥ 16 probes fit in the shortest window. */
export function probeSpacingUs(configuredUs: number, periodUs: number): number {
  const window = (DOWN_AFTER - SUSPECT_MAX) * periodUs;
  return Math.max(1, Math.min(configuredUs, Math.round(window / PROBES_PER_WINDOW)));
}
