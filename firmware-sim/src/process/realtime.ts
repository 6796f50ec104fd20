import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';

/**
 * Runs a simulation in step with the wall clock, for process mode: virtual time = wall time since
 * start. Between events it sleeps until the next one is due; input from outside (a pty) is injected
 * at the current wall time. This is the one place in the simulator that reads wall time, and it only
 * decides *when* to run the deterministic core, never what it computes.
 */
export class RealtimeDriver {
  #startWallNs = 0n;
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(readonly sim: Sim) {}

  start(): void {
    this.#startWallNs = process.hrtime.bigint() - BigInt(Math.round(this.sim.now));
    this.#running = true;
    this.#pump();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Virtual time that corresponds to now on the wall clock. */
  wallNow(): SimTime {
    return Number(process.hrtime.bigint() - this.#startWallNs);
  }

  /** Runs `fn` inside the simulation at the current wall time. */
  inject(fn: () => void): void {
    this.sim.scheduler.runUntil(Math.max(this.sim.now, this.wallNow()));
    fn();
    this.#pump();
  }

  #pump(): void {
    if (!this.#running) return;
    this.sim.scheduler.runUntil(Math.max(this.sim.now, this.wallNow()));
    if (this.#timer) clearTimeout(this.#timer);
    const next = this.sim.scheduler.nextEventAt();
    const waitMs = next === undefined ? 50 : Math.min(50, Math.max(0, (next - this.wallNow()) / 1e6));
    this.#timer = setTimeout(() => this.#pump(), waitMs);
  }
}
