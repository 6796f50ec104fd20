// The deterministic simulation soak (docs/reliability.md "Simulation soak"): the real daemon on the
// simulated reference board and a 12-MCU board, in virtual time, under random faults drawn from each
// seed, with invariants checked throughout. A failing run prints its seed and the command replaying it.
//
// Usage: npm run soak -- --seeds N --hours H [--first S] [--board reference|large|both]
//        npm run soak -- --seed S --hours H --board reference      (replays one run)
//        --progress prints each simulated minute's wall time to stderr; --json the summary as JSON.
import { parseArgs } from 'node:util';
import type { SoakBoardName } from '../test/soak/boards.js';
import { formatReport, formatSummary, type SoakReport, summarize } from '../test/soak/report.js';
import { runSoak } from '../test/soak/runner.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '4' },
    first: { type: 'string', default: '1' },
    seed: { type: 'string' },
    hours: { type: 'string', default: '0.5' },
    board: { type: 'string', default: 'both' },
    json: { type: 'boolean', default: false },
    progress: { type: 'boolean', default: false },
  },
});
const hours = Number(values.hours);
const boards: SoakBoardName[] =
  values.board === 'both' ? ['reference', 'large'] : [values.board as SoakBoardName];
if (!boards.every((b) => b === 'reference' || b === 'large') || !(hours > 0))
  throw new Error('usage: --seeds N --hours H [--first S] [--board reference|large|both]');
const seeds =
  values.seed !== undefined
    ? [Number(values.seed)]
    : Array.from({ length: Number(values.seeds) }, (_, i) => Number(values.first) + i);

const reports: SoakReport[] = [];
const wallStart = performance.now();
for (const seed of seeds) {
  for (const board of boards) {
    const t0 = performance.now();
    const progress = values.progress
      ? (simMs: number) =>
          console.error(
            `seed ${seed} ${board}: ${simMs / 60_000} simulated min, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
          )
      : undefined;
    const r = await runSoak({ seed, hours, board, ...(progress ? { progress } : {}) });
    reports.push(r);
    console.log(formatReport(r));
  }
}
const summary = summarize(reports);
console.log(`\n${formatSummary(summary)}`);
console.log(`wall time ${((performance.now() - wallStart) / 1000).toFixed(0)} s`);
if (values.json) console.log(JSON.stringify(summary));
process.exitCode = summary.violations.length > 0 ? 1 : 0;
