import type { Suite } from './context.js';
import { discoverySuite } from './discovery.js';
import { healthSuite } from './health.js';
import { soakSuite } from './soak.js';
import { timeSuite } from './time.js';
import { updateSuite } from './update.js';

/** Every suite, in the order `all` runs them: the power-cutting ones after the passive ones. */
export const SUITES: readonly Suite[] = [discoverySuite, timeSuite, healthSuite, updateSuite, soakSuite];

export function suiteNamed(name: string): Suite | undefined {
  return SUITES.find((s) => s.name === name);
}
