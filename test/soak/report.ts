import type { Invariant, Violation } from './invariants.js';

/** What one soak run did and found: the figures docs/reliability.md records. */
export interface SoakReport {
  readonly seed: number;
  readonly board: string;
  readonly hours: number;
  /** Faults actually injected, by kind (an armed flash power cut that never fired is not counted). */
  readonly faults: Readonly<Record<string, number>>;
  readonly checks: Readonly<Record<Invariant, number>>;
  readonly time: { readonly samples: number; readonly contained: number };
  readonly updatesDone: number;
  /** Campaign items by their state at the end of the run. */
  readonly campaignItems: Readonly<Record<string, number>>;
  /** Failed updates by their journal `data.reason` (device:<code>, stalled, timeout, boot, trial…). */
  readonly failureReasons: Readonly<Record<string, number>>;
  readonly violations: readonly Violation[];
}

/** The command that replays one run exactly (everything in it derives from the seed). */
export function replayCommand(seed: number, hours: number, board: string): string {
  return `npm run soak -- --seed ${seed} --hours ${hours} --board ${board}`;
}

/** Sums runs: faults and checks by kind, all violations. */
export function summarize(reports: readonly SoakReport[]) {
  const add = (into: Record<string, number>, from: Readonly<Record<string, number>>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const faults: Record<string, number> = {};
  const checks: Record<string, number> = {};
  const campaignItems: Record<string, number> = {};
  const failureReasons: Record<string, number> = {};
  let samples = 0;
  let contained = 0;
  for (const r of reports) {
    add(faults, r.faults);
    add(checks, r.checks);
    add(campaignItems, r.campaignItems);
    add(failureReasons, r.failureReasons);
    samples += r.time.samples;
    contained += r.time.contained;
  }
  return {
    runs: reports.length,
    // Rounded: a sum of 0.1 h runs should read 0.3, not 0.30000000000000004.
    hours: Math.round(reports.reduce((s, r) => s + r.hours, 0) * 1000) / 1000,
    faults,
    checks,
    time: { samples, contained },
    updatesDone: reports.reduce((s, r) => s + r.updatesDone, 0),
    campaignItems,
    failureReasons,
    violations: reports.flatMap((r) => r.violations.map((v) => ({ ...v, seed: r.seed, board: r.board }))),
  };
}

const fmt = (o: Readonly<Record<string, number>>) =>
  Object.entries(o)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** One line per run, then each violation with its replay command. */
export function formatReport(r: SoakReport): string {
  const lines = [
    `seed ${r.seed} ${r.board} ${r.hours} h: faults ${fmt(r.faults)}; updates done ${r.updatesDone}; ` +
      `campaign items ${fmt(r.campaignItems)}; update failures by reason ${fmt(r.failureReasons) || 'none'}; time bound ${r.time.contained}/${r.time.samples}; violations ${r.violations.length}`,
  ];
  for (const v of r.violations)
    lines.push(
      `  VIOLATION ${v.invariant} at ${(v.atMs / 1000).toFixed(1)} s: ${v.detail}`,
      `  replay: ${replayCommand(r.seed, r.hours, r.board)}`,
    );
  return lines.join('\n');
}

export function formatSummary(s: ReturnType<typeof summarize>): string {
  return [
    `${s.runs} runs, ${s.hours} simulated hours`,
    `faults injected: ${fmt(s.faults)}`,
    `invariant checks: ${fmt(s.checks)}`,
    `updates done (hash checked): ${s.updatesDone}`,
    `campaign items at the end: ${fmt(s.campaignItems)}`,
    `update failures by reason: ${fmt(s.failureReasons) || 'none'}`,
    `time bound held: ${s.time.contained}/${s.time.samples}`,
    `violations: ${s.violations.length}`,
  ].join('\n');
}
