// Security drills (docs/reliability.md "Security drills"): every image threat handed to the daemon and
// slipped past it by a compromised gateway, in the simulator's virtual time.
//
// Usage: npm run drills -- [--seed S] [--events]
import { parseArgs } from 'node:util';
import { formatDrills, formatEvents } from '../test/drills/report.js';
import { runDrills } from '../test/drills/run.js';

const { values } = parseArgs({
  options: { seed: { type: 'string', default: '1' }, events: { type: 'boolean', default: false } },
});
const seed = Number(values.seed);
if (!Number.isInteger(seed)) throw new Error('usage: npm run drills -- [--seed S] [--events]');
const started = Date.now();
const results = await runDrills(seed);
console.log(formatDrills(results));
if (values.events) console.log(`\n${formatEvents(results)}`);
console.log(`\nseed ${seed}; ${((Date.now() - started) / 1000).toFixed(1)} s of wall time`);
process.exit(results.some((r) => r.host.outcome === 'missed' || r.device.outcome === 'missed') ? 1 : 0);
