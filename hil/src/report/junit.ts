import { hostname } from 'node:os';
import { type CaseResult, counts, formatEvent, formatFigure, type RunResult } from './model.js';

/**
 * The run as JUnit XML (the Ant/Surefire dialect every CI reads): a testsuite per suite, a testcase
 * per case; figures and, for failures, the daemon's journal go to system-out, where CI shows them.
 */
export function toJUnitXml(run: RunResult): string {
  const all = run.suites.flatMap((s) => [...s.cases]);
  const total = counts(all);
  const totalTime = run.suites.reduce((t, s) => t + s.timeS, 0);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${attr(`mcubus-hil ${run.rig}`)}" tests="${total.tests}" failures="${total.failures}" errors="${total.errors}" skipped="${total.skipped}" time="${secs(totalTime)}">`,
  ];
  for (const s of run.suites) {
    const c = counts(s.cases);
    out.push(
      `  <testsuite name="${attr(s.name)}" tests="${c.tests}" failures="${c.failures}" errors="${c.errors}" skipped="${c.skipped}" time="${secs(s.timeS)}" timestamp="${new Date(s.startedAtMs).toISOString().slice(0, 19)}" hostname="${attr(hostname())}">`,
      '    <properties>',
      `      <property name="rig" value="${attr(run.rig)}"/>`,
      `      <property name="seed" value="${run.seed}"/>`,
      `      <property name="workDir" value="${attr(run.workDir)}"/>`,
      '    </properties>',
    );
    for (const k of s.cases) out.push(...testcase(s.name, k));
    out.push('  </testsuite>');
  }
  out.push('</testsuites>', '');
  return out.join('\n');
}

function testcase(suite: string, k: CaseResult): string[] {
  const open = `    <testcase classname="${attr(`mcubus-hil.${suite}`)}" name="${attr(k.name)}" time="${secs(k.timeS)}">`;
  const lines = [open];
  const message = attr(k.message ?? '');
  if (k.status === 'failed')
    lines.push(`      <failure message="${message}" type="HilFailure">${text(detail(k))}</failure>`);
  if (k.status === 'error')
    lines.push(`      <error message="${message}" type="HilError">${text(detail(k))}</error>`);
  if (k.status === 'skipped') lines.push(`      <skipped message="${message}"/>`);
  if (k.figures.length > 0)
    lines.push(`      <system-out>${text(k.figures.map(formatFigure).join('\n'))}</system-out>`);
  lines.push('    </testcase>');
  return lines;
}

function detail(k: CaseResult): string {
  const journal = k.journal.length > 0 ? `\n\njournal:\n${k.journal.map(formatEvent).join('\n')}` : '';
  return `${k.message ?? ''}${journal}`;
}

function secs(s: number): string {
  return s.toFixed(3);
}

/** XML 1.0 allows no control characters but tab, newline and carriage return, even escaped. */
function clean(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
}

function text(s: string): string {
  return clean(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;');
}
