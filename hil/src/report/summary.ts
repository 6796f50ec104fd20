import { allCases, counts, formatEvent, formatFigure, type RunResult } from './model.js';

const MARK = { passed: 'PASS', failed: 'FAIL', error: 'ERROR', skipped: 'SKIP' } as const;

/** The run for a person: a line per case with its figures, then the journal of every failure. */
export function toSummary(run: RunResult): string {
  const all = allCases(run);
  const c = counts(all);
  const passed = c.tests - c.failures - c.errors - c.skipped;
  const lines = [
    `mcubus-hil: rig ${run.rig}, seed ${run.seed}, started ${new Date(run.startedAtMs).toISOString()}`,
    `work directory (logs, mcubusd state): ${run.workDir}`,
    '',
  ];
  for (const s of run.suites) {
    lines.push(`suite ${s.name} (${s.timeS.toFixed(1)} s)`);
    for (const k of s.cases) {
      lines.push(`  ${MARK[k.status].padEnd(5)} ${k.name} (${k.timeS.toFixed(1)} s)`);
      if (k.message && k.status !== 'passed') lines.push(`        ${k.message}`);
      if (k.figures.length > 0) lines.push(`        ${k.figures.map(formatFigure).join(', ')}`);
    }
    lines.push('');
  }
  const failed = all.filter((k) => k.status === 'failed' || k.status === 'error');
  for (const k of failed) {
    if (k.journal.length === 0) continue;
    lines.push(`journal while "${k.name}" ran:`);
    for (const e of k.journal) lines.push(`  ${formatEvent(e)}`);
    lines.push('');
  }
  lines.push(`${passed} passed, ${c.failures + c.errors} failed, ${c.skipped} skipped`);
  return `${lines.join('\n')}\n`;
}
