import { counterDelta, unwrapNear } from './counter.js';

/**
 * One device clock against the host's, sans-IO: fed the four stamps of each time-sync exchange and
 * the host's current time, it answers "which host instant was device time D, give or take how much".
 *
 * The method (docs/time.md):
 * - Every exchange i gives an offset o_i = device − host at the exchange's midpoint, and a round trip
 *   r_i. Whatever the delays on the way out and back, |o_i − θ| ≤ (r_i − r₀)/2 where r₀ is the
 *   round trip without any queueing or stamp latency. So each exchange is an *interval* that contains
 *   the true offset; the smallest round trip seen (r_min) stands in for r₀.
 * - The skew (rate difference) is a least-squares line through the lowest-round-trip quarter of a
 *   sliding window: low-RTT exchanges carry little stamp jitter, and the line absorbs the crystals'
 *   ±100 ppm.
 * - The offset now is the intersection of all intervals in the window, each carried to now along the
 *   fitted line and widened by what the skew's uncertainty and the rate's random walk can have added
 *   since. Its half-width is the error bound. A jittery host path only widens intervals, never moves
 *   the truth out of them, which is why the bound holds under bursts of 2 ms receive latency.
 * - A sample outside the prediction is an outlier; several in a row that agree with each other are a
 *   clock jump: reported, and the window restarts from them.
 */
export interface ClockEstimatorConfig {
  /** Width of the device's µs counter (HELLO `clock.counterBits`); 64 = does not wrap in practice. */
  readonly counterBits?: number;
  /** Stamp resolution on either side, µs (default 1). */
  readonly resolutionUs?: number;
  /** Samples kept (default 2400). */
  readonly maxSamples?: number;
  /** Oldest sample kept, µs (default 300 s). */
  readonly maxAgeUs?: number;
  /**
   * Allowance for the random walk of the device's rate, ppm per √s (default 0.01 ≈ 0.6 ppm/√h:
   * crystal ageing and slow temperature change). Widens old samples' intervals.
   */
  readonly wanderPpmPerSqrtS?: number;
  /** A sample this far (µs) outside the prediction, beyond its own interval, is not ordinary noise. */
  readonly outlierMarginUs?: number;
  /** Consecutive mutually consistent outliers that make a clock jump (default 3). */
  readonly jumpAfter?: number;
  /** Exchange period limits and the bound the rate adapts to (defaults 250 ms, 16 s, 10 µs). */
  readonly minPeriodUs?: number;
  readonly maxPeriodUs?: number;
  readonly goalBoundUs?: number;
  /**
   * After a reset (first contact, reboot, clock jump) exchanges run at this faster period for
   * `acquisitionUs`, so that the skew is known to a fraction of a ppm within a minute and settles
   * before the pace drops (defaults 100 ms, 150 s).
   */
  readonly acquisitionPeriodUs?: number;
  readonly acquisitionUs?: number;
  /** No skew is fitted before the samples span this long (default 2 s). */
  readonly minSkewSpanUs?: number;
  /** Shortest bin of the skew fit (default 1 s); bins grow to 1/32 of the window. */
  readonly minBinUs?: number;
}

export interface ExchangeStamps {
  /** Host clock (µs) when the request started on the wire (or earlier: that only widens the interval). */
  readonly t1: number;
  /** Raw device counter readings. */
  readonly t2: number;
  readonly t3: number;
  /** Host clock (µs) when the answer started arriving (or later). */
  readonly t4: number;
}

interface Sample {
  /** Host time (µs) at the exchange midpoint. */
  readonly host: number;
  /** device − host (µs, device unwrapped) at that midpoint. */
  readonly offset: number;
  readonly rtt: number;
}

/** A fitted mapping: device(t) = t + offset + skew·(t − at) for host time t, with a growing bound. */
export interface ClockMapping {
  /** Host time (µs) the mapping is anchored at (the newest sample's midpoint). */
  readonly at: number;
  readonly offsetUs: number;
  /** Rate difference, dimensionless (1e-6 = 1 ppm fast). */
  readonly skew: number;
  /** Error bound (µs) at `at`. */
  readonly boundUs: number;
  /** How much the bound grows per µs away from `at` (skew uncertainty). */
  readonly boundGrowth: number;
  /** Random-walk allowance, µs per s^1.5 away from `at`. */
  readonly wanderUs: number;
  /** Samples the skew fit used, and all samples in the window. */
  readonly fitSamples: number;
  readonly windowSamples: number;
  /** Smallest round trip in the window (µs). */
  readonly rttMinUs: number;
}

export type EstimatorEvent =
  | { readonly kind: 'jump'; readonly deltaUs: number; readonly atUs: number }
  | { readonly kind: 'outlier'; readonly deviationUs: number; readonly atUs: number }
  | { readonly kind: 'rejected'; readonly reason: 'negative_rtt' | 'rtt_too_large'; readonly atUs: number };

export interface SampleResult {
  readonly accepted: boolean;
  readonly events: readonly EstimatorEvent[];
}

/** Candidate lengths of the skew fit (plus the whole window). */
const SKEW_WINDOWS_US = [20e6, 40e6, 80e6, 160e6];

/** Crystals are within ±100 ppm; before a skew is known the bound grows at twice that. */
const MAX_SKEW = 200e-6;
const MIN_FIT_SAMPLES = 4;
/** A round trip this long (µs) says nothing useful about a clock. */
const MAX_USEFUL_RTT_US = 1_000_000;

export class ClockEstimator {
  readonly #c: Required<ClockEstimatorConfig>;
  #samples: Sample[] = [];
  /** Outliers waiting to be confirmed as a jump. */
  #suspects: Sample[] = [];
  #lastDevice: number | null = null;
  #mapping: ClockMapping | null = null;
  #periodUs: number;
  /** Host time of the first sample since the last reset. */
  #firstUs: number | null = null;
  readonly counters = { samples: 0, outliers: 0, jumps: 0, rejected: 0 };

  constructor(config: ClockEstimatorConfig = {}) {
    this.#c = {
      counterBits: config.counterBits ?? 64,
      resolutionUs: config.resolutionUs ?? 1,
      maxSamples: config.maxSamples ?? 2400,
      maxAgeUs: config.maxAgeUs ?? 300_000_000,
      wanderPpmPerSqrtS: config.wanderPpmPerSqrtS ?? 0.02,
      outlierMarginUs: config.outlierMarginUs ?? 200,
      jumpAfter: config.jumpAfter ?? 3,
      minPeriodUs: config.minPeriodUs ?? 250_000,
      maxPeriodUs: config.maxPeriodUs ?? 16_000_000,
      goalBoundUs: config.goalBoundUs ?? 10,
      minSkewSpanUs: config.minSkewSpanUs ?? 2_000_000,
      minBinUs: config.minBinUs ?? 1_000_000,
      acquisitionPeriodUs: config.acquisitionPeriodUs ?? 100_000,
      acquisitionUs: config.acquisitionUs ?? 150_000_000,
    };
    this.#periodUs = this.#c.minPeriodUs;
  }

  get counterBits(): number {
    return this.#c.counterBits;
  }

  /** The current mapping, or null before two exchanges. */
  get mapping(): ClockMapping | null {
    return this.#mapping;
  }

  /** The newest accepted exchange: host midpoint, device − host offset and round trip (µs). */
  get lastSample(): { readonly host: number; readonly offset: number; readonly rtt: number } | null {
    return this.#samples.at(-1) ?? null;
  }

  /** Forget everything (the device rebooted: a new epoch of its counter). */
  reset(): void {
    this.#samples = [];
    this.#suspects = [];
    this.#lastDevice = null;
    this.#mapping = null;
    this.#periodUs = this.#c.minPeriodUs;
    this.#firstUs = null;
  }

  /** Extends a raw device reading to unwrapped µs, near where the device's counter is now. */
  unwrap(raw: number, hostNowUs?: number): number {
    const predicted =
      hostNowUs !== undefined && this.#mapping ? this.deviceAt(hostNowUs) : (this.#lastDevice ?? raw);
    return unwrapNear(raw, predicted, this.#c.counterBits);
  }

  /** One completed exchange. */
  addExchange(s: ExchangeStamps): SampleResult {
    const bits = this.#c.counterBits;
    const deviceSpan = counterDelta(s.t3, s.t2, bits);
    const rtt = s.t4 - s.t1 - deviceSpan;
    const at = (s.t1 + s.t4) / 2;
    if (rtt < 0 || deviceSpan < 0) {
      this.counters.rejected++;
      return { accepted: false, events: [{ kind: 'rejected', reason: 'negative_rtt', atUs: at }] };
    }
    if (rtt > MAX_USEFUL_RTT_US) {
      this.counters.rejected++;
      return { accepted: false, events: [{ kind: 'rejected', reason: 'rtt_too_large', atUs: at }] };
    }
    const t2 = this.unwrap(s.t2, s.t1);
    const device = t2 + deviceSpan / 2;
    this.#lastDevice = t2 + deviceSpan;
    const sample: Sample = { host: at, offset: device - at, rtt };
    this.counters.samples++;

    const deviation = this.#deviation(sample);
    if (deviation !== null) {
      this.counters.outliers++;
      this.#suspects.push(sample);
      const events: EstimatorEvent[] = [{ kind: 'outlier', deviationUs: deviation, atUs: at }];
      if (this.#suspects.length >= this.#c.jumpAfter && this.#suspectsAgree()) {
        const before = this.offsetAt(at);
        this.#samples = [...this.#suspects];
        this.#suspects = [];
        this.#refit();
        this.#periodUs = this.#c.minPeriodUs;
        this.#firstUs = at;
        this.counters.jumps++;
        events.push({ kind: 'jump', deltaUs: Math.round(this.offsetAt(at) - before), atUs: at });
      } else if (this.#suspects.length >= this.#c.jumpAfter) {
        // Outliers that disagree with each other are noise, not a jump: keep only the newest.
        this.#suspects = this.#suspects.slice(-(this.#c.jumpAfter - 1));
      }
      return { accepted: false, events };
    }
    this.#suspects = [];
    this.#firstUs ??= at;
    this.#samples.push(sample);
    const oldest = at - this.#c.maxAgeUs;
    while (
      this.#samples.length > this.#c.maxSamples ||
      (this.#samples.length > MIN_FIT_SAMPLES && (this.#samples[0]?.host ?? at) < oldest)
    ) {
      this.#samples.shift();
    }
    this.#refit();
    this.#adaptPeriod();
    return { accepted: true, events: [] };
  }

  /** How far (µs) a sample lies outside the prediction beyond its own interval, or null when it fits. */
  #deviation(s: Sample): number | null {
    const m = this.#mapping;
    if (!m || this.#samples.length < MIN_FIT_SAMPLES) return null;
    const predicted = this.offsetAt(s.host);
    const allowed = this.boundAt(s.host) + (s.rtt - m.rttMinUs) / 2 + this.#c.resolutionUs;
    const off = Math.abs(s.offset - predicted) - allowed;
    return off > Math.max(this.#c.outlierMarginUs, 4 * m.boundUs) ? Math.round(off) : null;
  }

  /** Suspects that agree with each other within their own round trips are one new clock. */
  #suspectsAgree(): boolean {
    const s = this.#suspects;
    const rMin = Math.min(...s.map((x) => x.rtt));
    const lo = Math.max(...s.map((x) => x.offset - (x.rtt - rMin) / 2));
    const hi = Math.min(...s.map((x) => x.offset + (x.rtt - rMin) / 2));
    // Between suspects seconds apart the old skew still holds to ~100 ppm: allow that much.
    const span = (s[s.length - 1]?.host ?? 0) - (s[0]?.host ?? 0);
    return lo - hi <= this.#c.outlierMarginUs + 1e-4 * span;
  }

  #refit(): void {
    const s = this.#samples;
    if (s.length < 2) {
      this.#mapping = null;
      return;
    }
    const newest = s[s.length - 1] as Sample;
    const at = newest.host;
    const rttMin = Math.min(...s.map((x) => x.rtt));

    // Skew, in two passes (the second carries samples within a bin along the first's line):
    // 1. per time bin, the intersection of its exchanges' intervals — a point whose error is about
    //    the bin's smallest round-trip excess, whatever the jitter of the others;
    // 2. weighted least-squares lines through the bin points of the last 20, 40, 80, 160 s and the
    //    whole window; their standard errors come from the points' own residuals. The rate
    //    random-walks, so a line over W seconds is off the rate now by about the walk over W/3: the
    //    line with the smallest sum of the two is taken (a precise path fits short, a jittery one
    //    long — the Allan-deviation trade-off, made per device from its own data).
    const byRtt = [...s].sort((a, b) => a.rtt - b.rtt);
    const eps = this.#c.resolutionUs + this.#floorUncertainty(byRtt, 4);
    const spanUs = newest.host - (s[0] as Sample).host;
    const binUs = Math.max(this.#c.minBinUs, spanUs / 64);
    const walk = (windowUs: number) => 2 * this.#c.wanderPpmPerSqrtS * 1e-6 * Math.sqrt(windowUs / 1e6 / 3);
    let skew = this.#mapping?.skew ?? 0;
    let best = { skew: 0, sigma: Infinity, n: 0, windowUs: spanUs, score: Infinity, total: Infinity };
    for (let pass = 0; pass < 2; pass++) {
      const points = binPoints(s, binUs, skew, rttMin, eps);
      best = { skew: 0, sigma: Infinity, n: 0, windowUs: spanUs, score: Infinity, total: Infinity };
      for (const windowUs of [...SKEW_WINDOWS_US.filter((w) => w < spanUs), spanUs]) {
        const recent = points.filter((p) => p.host >= at - windowUs);
        if (recent.length < 6 && windowUs < spanUs) continue;
        const line = edgeLine(recent, this.#c.resolutionUs);
        // A standard error from a few points is itself uncertain: the choice weighs it 5σ, so a
        // short window must be clearly better to be taken.
        const score = 5 * line.sigma + walk(windowUs);
        if (line.n >= 3 && score < best.score)
          best = { ...line, windowUs, score, total: 3 * line.sigma + walk(windowUs) };
      }
      if (best.n >= 3 && spanUs >= this.#c.minSkewSpanUs) skew = best.skew;
    }
    const haveSkew = best.n >= 3 && spanUs >= this.#c.minSkewSpanUs;
    if (!haveSkew) skew = 0;
    const n = best.n;
    // Both the fit's uncertainty and the walk since the line's window widen carried intervals.
    const boundGrowth = haveSkew ? Math.max(best.total, 1e-9) : MAX_SKEW;
    const wanderUs = this.#c.wanderPpmPerSqrtS;

    // Offset at `at`: intersect every sample's interval carried to `at`.
    let lo = -Infinity;
    let hi = Infinity;
    for (const x of s) {
      const dt = Math.abs(at - x.host);
      const centre = x.offset + skew * (at - x.host);
      const half = (x.rtt - rttMin) / 2 + eps + boundGrowth * dt + wanderUs * (dt / 1e6) ** 1.5;
      lo = Math.max(lo, centre - half);
      hi = Math.min(hi, centre + half);
    }
    if (lo > hi) {
      // Intervals that do not meet: the floor was lower than it looked, or the rate moved. Use the
      // newest low-RTT samples' centre and say how far apart the intervals are.
      const mid = (lo + hi) / 2;
      const gap = (lo - hi) / 2;
      lo = mid - gap - eps;
      hi = mid + gap + eps;
    }
    this.#mapping = {
      at,
      offsetUs: (lo + hi) / 2,
      skew,
      // The floor itself may sit lower still: the bound (not the estimate) allows for the spread of
      // the 16 quickest exchanges (what keeps coverage ≥ 99 % under 2 ms of receive jitter).
      boundUs: (hi - lo) / 2 + this.#floorUncertainty(byRtt, 16) - this.#floorUncertainty(byRtt, 4),
      boundGrowth,
      wanderUs,
      fitSamples: n,
      windowSamples: s.length,
      rttMinUs: rttMin,
    };
  }

  /**
   * How far the smallest round trip may still be above the true floor: the gap to the next-smallest
   * ones (order statistics of a jittery delay are spaced like the distance to its floor).
   */
  #floorUncertainty(byRtt: readonly Sample[], k: number): number {
    const r0 = byRtt[0]?.rtt ?? 0;
    const r2 = byRtt[Math.min(k, byRtt.length - 1)]?.rtt ?? r0;
    return (r2 - r0) / 2;
  }

  /**
   * The exchange rate follows the path's jitter and the bound. A jittery path (USB serial, a busy
   * host) needs many exchanges to find the few quick ones, so it stays at the fastest rate; a quiet
   * path (kernel timestamps, exact stamps) backs off while the bound stays under the goal, and speeds
   * up again when the rate wanders or the bound grows.
   */
  #adaptPeriod(): void {
    const m = this.#mapping;
    if (!m) return;
    const recent = this.#samples.slice(-16).map((x) => (x.rtt - m.rttMinUs) / 2);
    const jitter = recent.sort((a, b) => a - b)[Math.floor(recent.length / 2)] ?? 0;
    const ahead = m.boundUs + m.boundGrowth * this.#periodUs;
    if (jitter > this.#c.goalBoundUs || ahead > 2 * this.#c.goalBoundUs)
      this.#periodUs = Math.max(this.#c.minPeriodUs, this.#periodUs / 2);
    else if (ahead < this.#c.goalBoundUs)
      this.#periodUs = Math.min(this.#c.maxPeriodUs, this.#periodUs * 1.5);
  }

  /** When the next exchange should start, given the last one started at `lastUs`. */
  nextExchangeAt(lastUs: number): number {
    return lastUs + this.periodUs;
  }

  get periodUs(): number {
    const acquiring =
      this.#firstUs === null || (this.#samples.at(-1)?.host ?? 0) - this.#firstUs < this.#c.acquisitionUs;
    return acquiring ? Math.min(this.#c.acquisitionPeriodUs, this.#periodUs) : this.#periodUs;
  }

  /** device − host offset (µs) at host time t. */
  offsetAt(hostUs: number): number {
    const m = this.#mapping;
    if (!m) return Number.NaN;
    return m.offsetUs + m.skew * (hostUs - m.at);
  }

  /** Error bound (µs) of the mapping at host time t, the path's asymmetry allowance included. */
  boundAt(hostUs: number): number {
    const m = this.#mapping;
    if (!m) return Number.POSITIVE_INFINITY;
    const dt = Math.abs(hostUs - m.at);
    return m.boundUs + this.#asymmetryUs + m.boundGrowth * dt + m.wanderUs * (dt / 1e6) ** 1.5;
  }

  /**
   * What the path's quickest exchanges may still get wrong (FrameTransport.timeAsymmetryUs, µs):
   * added to every bound, but not to what paces the exchanges — more of them cannot shrink it.
   */
  get asymmetryUs(): number {
    return this.#asymmetryUs;
  }

  set asymmetryUs(us: number) {
    this.#asymmetryUs = Math.max(0, us);
  }

  #asymmetryUs = 0;

  /** Unwrapped device time at host time t. */
  deviceAt(hostUs: number): number {
    return hostUs + this.offsetAt(hostUs);
  }

  /**
   * Host time (µs) of an unwrapped device time, and its bound. Null before the first mapping.
   */
  hostOf(deviceUs: number): { hostUs: number; boundUs: number } | null {
    const m = this.#mapping;
    if (!m) return null;
    // device = t + offset + skew·(t − at)  ⇒  t = (device − offset + skew·at) / (1 + skew)
    const hostUs = (deviceUs - m.offsetUs + m.skew * m.at) / (1 + m.skew);
    return { hostUs, boundUs: this.boundAt(hostUs) };
  }
}

interface BinPoint {
  readonly host: number;
  /** The bin's intersection: the offset lies in [lo, hi]. */
  readonly lo: number;
  readonly hi: number;
}

/** Per time bin: the intersection of its samples' intervals, carried to the bin's best sample. */
function binPoints(
  samples: readonly Sample[],
  binUs: number,
  skew: number,
  rttMin: number,
  eps: number,
): BinPoint[] {
  const bins = new Map<number, Sample[]>();
  for (const x of samples) {
    const k = Math.floor(x.host / binUs);
    const list = bins.get(k);
    if (list) list.push(x);
    else bins.set(k, [x]);
  }
  const out: BinPoint[] = [];
  for (const list of bins.values()) {
    let best = list[0] as Sample;
    for (const x of list) if (x.rtt < best.rtt) best = x;
    let lo = -Infinity;
    let hi = Infinity;
    for (const x of list) {
      const centre = x.offset + skew * (best.host - x.host);
      const half = (x.rtt - rttMin) / 2 + eps;
      lo = Math.max(lo, centre - half);
      hi = Math.min(hi, centre + half);
    }
    if (lo > hi) {
      lo = best.offset - ((best.rtt - rttMin) / 2 + eps);
      hi = best.offset + ((best.rtt - rttMin) / 2 + eps);
    }
    out.push({ host: best.host, lo, hi });
  }
  return out;
}

/**
 * The skew from the bins' edges. Each bin's intersection has an upper edge (set by the exchange whose
 * request went out quickest) and a lower edge (set by the answer that came back quickest); when one
 * direction jitters less — a host's receive path is usually the slow one — its edge is far more
 * precise than the middle. A least-squares line through each edge, weighed by its own residual
 * variance, lets the data say which side to trust.
 */
function edgeLine(
  points: readonly BinPoint[],
  resolutionUs: number,
): { skew: number; sigma: number; n: number } {
  const n = points.length;
  if (n < 3) return { skew: 0, sigma: Number.POSITIVE_INFINITY, n };
  const lo = ols(points, (p) => p.lo, resolutionUs);
  const hi = ols(points, (p) => p.hi, resolutionUs);
  if (!lo || !hi) return { skew: 0, sigma: Number.POSITIVE_INFINITY, n };
  const wLo = 1 / lo.sigma ** 2;
  const wHi = 1 / hi.sigma ** 2;
  return { skew: (lo.slope * wLo + hi.slope * wHi) / (wLo + wHi), sigma: 1 / Math.sqrt(wLo + wHi), n };
}

/** Ordinary least squares y = a + slope·host, with the slope's standard error from the residuals. */
function ols(
  points: readonly BinPoint[],
  y: (p: BinPoint) => number,
  resolutionUs: number,
): { slope: number; sigma: number } | null {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.host, 0) / n;
  const my = points.reduce((a, p) => a + y(p), 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.host - mx) ** 2;
    sxy += (p.host - mx) * (y(p) - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  let sse = 0;
  for (const p of points) sse += (y(p) - (my + slope * (p.host - mx))) ** 2;
  // Never more precise than the stamps' resolution allows.
  const variance = Math.max(sse / (n - 2), resolutionUs ** 2 / 3);
  return { slope, sigma: Math.sqrt(variance / sxx) };
}
