import { Prng } from './prng.js';
import { NS_PER_MS, NS_PER_S, NS_PER_US, Scheduler, type SimTime } from './scheduler.js';
import { Trace } from './trace.js';

/**
 * The context every simulated component gets: the virtual clock, the seeded randomness and the trace.
 * Components fork their own PRNG stream by name (`sim.rng('can0')`) so that their draws are independent.
 */
export class Sim {
  readonly scheduler = new Scheduler();
  readonly trace: Trace;
  readonly #root: Prng;

  constructor(
    readonly seed: number,
    opts: { traceKeep?: number } = {},
  ) {
    this.#root = new Prng(seed);
    this.trace = new Trace(opts.traceKeep ?? 2000);
  }

  get now(): SimTime {
    return this.scheduler.now;
  }

  rng(name: string): Prng {
    return this.#root.fork(name);
  }

  record(source: string, event: string, detail?: string): void {
    this.trace.record(this.scheduler.now, source, event, detail);
  }

  runFor(durationNs: SimTime): void {
    this.scheduler.runFor(durationNs);
  }
}

export const us = (n: number): SimTime => n * NS_PER_US;
export const ms = (n: number): SimTime => n * NS_PER_MS;
export const seconds = (n: number): SimTime => n * NS_PER_S;
