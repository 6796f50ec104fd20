import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';

export const ROOT = join(import.meta.dirname, '../../..');
export const SIM_RIG = join(ROOT, 'hil/rigs/sim/rig.yaml');

/** The rig runs the built daemon and simulator (`tsc -b`), as it would on a bench. */
export function assertBuilt(): void {
  for (const f of ['host/dist/mcubusd.js', 'firmware-sim/dist/cli.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: run npx tsc -b first`);
  }
}

export interface HilRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `mcubus-hil` (its TypeScript sources) as a process, to the end. */
export function runHil(args: string[]): Promise<HilRun> {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(ROOT, 'hil/src/cli.ts'), ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

export interface JUnitCase {
  readonly name: string;
  readonly classname: string;
  readonly time: string;
  readonly failure?: { message: string };
  readonly error?: { message: string };
  readonly skipped?: { message: string };
  readonly 'system-out'?: string;
}

export interface JUnitSuite {
  readonly name: string;
  readonly tests: string;
  readonly failures: string;
  readonly errors: string;
  readonly testcase: JUnitCase[];
}

/** The JUnit file parsed as a CI tool reads it: suites and cases with their attributes. */
export function readJUnit(file: string): {
  testsuites: { tests: string; failures: string; testsuite: JUnitSuite[] };
} {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    isArray: (name) => name === 'testsuite' || name === 'testcase',
  });
  return parser.parse(readFileSync(file, 'utf8'));
}

/** A case's figures (its system-out lines `name=value [unit]`) as numbers where they are numbers. */
export function figures(c: JUnitCase): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const line of (c['system-out'] ?? '').split('\n')) {
    const m = /^([^=]+)=(.*?)(?: (s|B|B\/s|ms|µs|ppm))?$/.exec(line);
    if (!m) continue;
    const n = Number(m[2]);
    out[m[1]!] = m[2] !== '' && Number.isFinite(n) ? n : m[2]!;
  }
  return out;
}

/** What a failed case said, for the assertion message. */
export function problems(suite: JUnitSuite): string {
  return suite.testcase
    .filter((c) => c.failure || c.error)
    .map((c) => `${c.name}: ${(c.failure ?? c.error)!.message}`)
    .join('\n');
}
