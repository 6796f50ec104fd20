import type { Timer } from './scheduler.js';
import type { Sim } from './sim.js';

/**
 * Schedules a sans-IO core's wake-up. Cores count in µs, the scheduler in ns: converting back can land
 * a hair before the deadline the core asked for, and a core that sees "not yet" asks for the same
 * instant again, forever. So the wake runs at the deadline rounded up to a whole ns, and `fn` gets a
 * time that is never earlier than the deadline.
 */
export function scheduleWake(sim: Sim, wakeAtUs: number, fn: (nowUs: number) => void): Timer {
  return sim.scheduler.at(Math.max(sim.now, Math.ceil(wakeAtUs * 1000)), () =>
    fn(Math.max(sim.now / 1000, wakeAtUs)),
  );
}
