import type { Sim } from '@mcubus/firmware-sim';
import type { Runtime } from '../../daemon/runtime.js';

/** The simulator's virtual clock as the daemon's runtime; wall time starts at `epochMs`. */
export function simRuntime(sim: Sim, epochMs = Date.UTC(2026, 0, 1)): Runtime {
  return {
    nowUs: () => sim.now / 1000,
    nowMs: () => epochMs + Math.floor(sim.now / 1e6),
    nowWallUs: () => epochMs * 1000 + sim.now / 1000,
    at(atUs, fn) {
      // Round up to whole ns: a wake-up must never land before the deadline a core asked for.
      return sim.scheduler.at(Math.max(sim.now, Math.ceil(atUs * 1000)), fn);
    },
  };
}
