import type { Prng } from '../kernel/prng.js';
import { NS_PER_MS, NS_PER_S, type SimTime } from '../kernel/scheduler.js';

/**
 * How late the host learns that a frame started arriving (or how early it stamped a frame it sent),
 * beyond the wire: the serial driver's 'data' event fires after the USB-serial adapter's latency
 * timer, the kernel's scheduling and Node's event loop; SocketCAN's kernel timestamps skip most of
 * that. Stamps in the simulator are exact, so without this model a time-sync benchmark would measure
 * an ideal host. The model: a uniform delay in [0, uniformUs] per frame, and bursts (a busy host, a
 * garbage collection) arriving at random, during which every delay lies in the upper half of
 * [0, burstUs].
 */
export interface StampJitterConfig {
  readonly uniformUs: number;
  readonly burst?: {
    /** Mean time between burst starts, s. */
    readonly meanIntervalS: number;
    readonly durationMs: number;
    readonly burstUs: number;
  };
}

export interface HostStampProfile {
  /** Delay of the receive stamp after the frame really started arriving. */
  readonly rx: StampJitterConfig;
  /** How much earlier than the frame's real start the host stamped it (write call → wire). */
  readonly tx: StampJitterConfig;
}

/** The profiles the benchmarks use (docs/time.md says where each figure comes from). */
export const HOST_STAMP_PROFILES = {
  /** Exact stamps: the unit-test baseline. */
  exact: { rx: { uniformUs: 0 }, tx: { uniformUs: 0 } },
  /** A UART (or slcan) read through the serial 'data' event: up to 2 ms late, bursty. */
  serial: {
    rx: { uniformUs: 2000, burst: { meanIntervalS: 20, durationMs: 300, burstUs: 2000 } },
    tx: { uniformUs: 250 },
  },
  /** SocketCAN with kernel receive timestamps and the TX echo's timestamp; the same bursts. */
  kernelTimestamp: {
    rx: { uniformUs: 50, burst: { meanIntervalS: 20, durationMs: 300, burstUs: 2000 } },
    tx: { uniformUs: 50 },
  },
} as const satisfies Record<string, HostStampProfile>;

export type HostStampProfileName = keyof typeof HOST_STAMP_PROFILES;

export class StampJitter {
  readonly #c: StampJitterConfig;
  readonly #rng: Prng;
  #burstStart: SimTime;
  #burstEnd: SimTime;

  constructor(config: StampJitterConfig, rng: Prng) {
    this.#c = config;
    this.#rng = rng;
    this.#burstStart = Number.POSITIVE_INFINITY;
    this.#burstEnd = Number.NEGATIVE_INFINITY;
    if (config.burst) this.#scheduleBurst(0);
  }

  #scheduleBurst(after: SimTime): void {
    const b = this.#c.burst;
    if (!b) return;
    const gap = -Math.log(1 - this.#rng.float()) * b.meanIntervalS * NS_PER_S;
    this.#burstStart = after + gap;
    this.#burstEnd = this.#burstStart + b.durationMs * NS_PER_MS;
  }

  /** The delay (µs) for a frame at true time `t`; calls must come in time order. */
  delayUs(t: SimTime): number {
    const b = this.#c.burst;
    while (b && t >= this.#burstEnd) this.#scheduleBurst(this.#burstEnd);
    if (b && t >= this.#burstStart) return this.#rng.range(b.burstUs / 2, b.burstUs);
    return this.#c.uniformUs > 0 ? this.#rng.range(0, this.#c.uniformUs) : 0;
  }
}
