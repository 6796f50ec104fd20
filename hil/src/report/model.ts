import type { EventView } from '@mcubus/host';

/**
 * passed; failed — the rig saw the device or daemon do something else than required; error — the
 * check itself could not run (a power command failed, the daemon did not answer); skipped — the rig
 * cannot do it (no power control for a device).
 */
export type CaseStatus = 'passed' | 'failed' | 'error' | 'skipped';

/** A measured value, reported with the case whatever its outcome. */
export interface Figure {
  readonly name: string;
  readonly value: number | string;
  readonly unit?: string;
}

export interface CaseResult {
  readonly name: string;
  readonly status: CaseStatus;
  readonly timeS: number;
  /** One line: why it failed, erred or was skipped. */
  readonly message?: string;
  readonly figures: readonly Figure[];
  /** The daemon's journal while the case ran, kept for failures. */
  readonly journal: readonly EventView[];
}

export interface SuiteResult {
  readonly name: string;
  readonly startedAtMs: number;
  readonly timeS: number;
  readonly cases: readonly CaseResult[];
}

export interface RunResult {
  readonly rig: string;
  readonly startedAtMs: number;
  readonly seed: number;
  readonly workDir: string;
  readonly suites: readonly SuiteResult[];
}

export function counts(cases: readonly CaseResult[]) {
  const n = (s: CaseStatus) => cases.filter((c) => c.status === s).length;
  return { tests: cases.length, failures: n('failed'), errors: n('error'), skipped: n('skipped') };
}

export function allCases(run: RunResult): CaseResult[] {
  return run.suites.flatMap((s) => [...s.cases]);
}

export function formatFigure(f: Figure): string {
  const v = typeof f.value === 'number' ? round(f.value) : f.value;
  return `${f.name}=${v}${f.unit ? ` ${f.unit}` : ''}`;
}

function round(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}

export function formatEvent(e: EventView): string {
  const who = e.device !== undefined ? `0x${e.device.toString(16).padStart(2, '0')}` : (e.bus ?? '-');
  return `${new Date(e.atMs).toISOString()}  ${e.severity.padEnd(7)}  ${who.padEnd(6)}  ${e.kind}: ${e.message}`;
}
