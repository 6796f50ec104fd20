import type { SimTime } from '../kernel/scheduler.js';

/**
 * Physical quantities that several MCUs measure, as functions of true time, so a test can check that
 * readings taken on different MCUs line up once aligned (e.g. supply current minus battery current).
 */
export type Signal = (trueNs: SimTime) => number;

export const signals = {
  /** A 1 Hz sine of amplitude 1000 plus an offset: steep enough that a 1 ms misalignment shows. */
  supplyCurrent_mA: ((t) => 1500 + 1000 * Math.sin((2 * Math.PI * t) / 1e9)) as Signal,
  /** Battery share of the same load. */
  batteryCurrent_mA: ((t) => 600 + 400 * Math.sin((2 * Math.PI * t) / 1e9)) as Signal,
  /** A slow temperature ramp. */
  temperature_cC: ((t) => 2500 + (t / 1e9) * 0.5) as Signal,
};

export type SignalName = keyof typeof signals;
