import type { Prng } from '../kernel/prng.js';
import { NS_PER_S, type SimTime } from '../kernel/scheduler.js';

export interface DeviceClockConfig {
  /** Device counter reading (µs) at simulation time 0. */
  readonly offsetUs?: number;
  /** Initial rate error in ppm (crystals: ±10…100). */
  readonly skewPpm?: number;
  /** Random-walk drift of the rate: standard deviation of the change per √hour, in ppm (temperature, ageing). */
  readonly driftPpmPerSqrtHour?: number;
  /** Counter resolution in ns (1000 = 1 µs ticks). Readings are truncated to it. */
  readonly resolutionNs?: number;
  /** Counter width: readings wrap at 2^bits µs. */
  readonly counterBits?: number;
  /**
   * The counter restarts from 0 at every power-on and reset (a timer started by firmware), instead
   * of running on through them (an RTC). Real MCUs mostly do this; default false.
   */
  readonly restartsAtPowerOn?: boolean;
}

/** Length of a drift segment: the rate is constant inside one and random-walks between them. */
const SEGMENT_NS = 10 * NS_PER_S;

/**
 * The free-running microsecond counter of a simulated MCU. Its rate differs from true time by a skew
 * that random-walks; it starts at an arbitrary offset, has a tick resolution and wraps. The host only
 * ever sees readings of it. The walk is generated segment by segment as time advances, independent of
 * when or how often the clock is read, so reads never change a run.
 */
export class DeviceClock {
  readonly resolutionNs: number;
  readonly counterBits: number;
  readonly restartsAtPowerOn: boolean;
  readonly #rng: Prng;
  readonly #stepPpm: number;
  /** Device time (ns, unwrapped, before truncation) at the start of the current segment. */
  #segStartDeviceNs: number;
  #segStart: SimTime = 0;
  #ratePpm: number;
  #jumpNs = 0;
  /**
   * The last few segments, newest last: firmware reads the clock for moments a little in the past
   * (a frame's start, after processing), which may lie before the current segment.
   */
  readonly #history: { start: SimTime; startDeviceNs: number; ratePpm: number }[] = [];

  constructor(config: DeviceClockConfig, rng: Prng) {
    this.#rng = rng;
    this.resolutionNs = config.resolutionNs ?? 1000;
    this.counterBits = config.counterBits ?? 32;
    this.restartsAtPowerOn = config.restartsAtPowerOn ?? false;
    this.#segStartDeviceNs = (config.offsetUs ?? 0) * 1000;
    this.#ratePpm = config.skewPpm ?? 0;
    // σ per segment so that the variance over an hour matches the configured σ per √hour.
    this.#stepPpm = (config.driftPpmPerSqrtHour ?? 0) * Math.sqrt(SEGMENT_NS / (3600 * NS_PER_S));
  }

  /** Unwrapped device time in ns at true time `t` (for ground truth in benchmarks; never sent). */
  deviceNsAt(t: SimTime): number {
    while (t >= this.#segStart + SEGMENT_NS) {
      this.#history.push({
        start: this.#segStart,
        startDeviceNs: this.#segStartDeviceNs,
        ratePpm: this.#ratePpm,
      });
      if (this.#history.length > 4) this.#history.shift();
      this.#segStartDeviceNs += SEGMENT_NS * (1 + this.#ratePpm * 1e-6);
      this.#segStart += SEGMENT_NS;
      this.#ratePpm += this.#stepPpm * this.#rng.normal();
    }
    if (t >= this.#segStart) {
      return this.#segStartDeviceNs + (t - this.#segStart) * (1 + this.#ratePpm * 1e-6) + this.#jumpNs;
    }
    // A moment in an earlier segment: use the rate that held then (before the history: the oldest one).
    let seg = this.#history[0] ?? {
      start: this.#segStart,
      startDeviceNs: this.#segStartDeviceNs,
      ratePpm: this.#ratePpm,
    };
    for (const h of this.#history) if (h.start <= t) seg = h;
    return seg.startDeviceNs + (t - seg.start) * (1 + seg.ratePpm * 1e-6) + this.#jumpNs;
  }

  /** The counter value (µs, truncated to the resolution, wrapped) that firmware reads at true time `t`. */
  readUs(t: SimTime): number {
    const ns = this.deviceNsAt(t);
    const ticks = Math.floor(ns / this.resolutionNs) * this.resolutionNs;
    const us = Math.floor(ticks / 1000);
    if (this.counterBits >= 53) return us;
    const m = 2 ** this.counterBits;
    return ((us % m) + m) % m; // a negative clock jump must still read as a counter value
  }

  /** Current rate error in ppm (ground truth). */
  ratePpmAt(t: SimTime): number {
    this.deviceNsAt(t);
    return this.#ratePpm;
  }

  /** The counter reads 0 at true time `t` (firmware starting its timer after a reset). */
  restart(t: SimTime): void {
    this.#jumpNs -= this.deviceNsAt(t);
  }

  /** Fault: the counter jumps by `deltaUs` (a bad RTC write, a firmware bug). */
  jump(deltaUs: number): void {
    this.#jumpNs += deltaUs * 1000;
  }
}
