#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RigFileError, UsageError } from './errors.js';
import { killAllStarted } from './procs/started.js';
import { toJUnitXml } from './report/junit.js';
import { allCases } from './report/model.js';
import { toSummary } from './report/summary.js';
import { runRig } from './run.js';
import type { Suite } from './suites/context.js';
import { SUITES, suiteNamed } from './suites/index.js';

const HELP = `mcubus-hil — runs test suites against a rig of real (or simulated) MCUs through mcubusd.

Usage:
  mcubus-hil run SUITE[,SUITE…]|all --config RIG.yaml [options]

The rig file names the devices under test (address, hardware id, bus, expected route), the mcubusd
configuration that reaches them (its serial ports, CAN interfaces), the device processes to start
(for simulated or POSIX-built devices: a command that serves a pty) and how to cut and restore each
device's power. The rig starts mcubusd on that configuration, runs the suites, stops what it started,
and writes a JUnit XML file and a summary. hil/README.md describes the rig file.

Suites:
${SUITES.map((s) => `  ${s.name.padEnd(10)} ${s.about}`).join('\n')}

Options:
  --config FILE     the rig file (required)
  --out DIR         where junit.xml and summary.txt go (default ./hil-results)
  --work-dir DIR    logs, mcubusd state and generated images (default: a new temp directory)
  --seed N          seed of the random choices (where power is cut), default: random, printed
  --duration S      how long the soak suite runs, seconds (overrides soak.durationS)
  --help            this text

Exit status: 0 every case passed (or was skipped), 1 a case failed or the rig could not be brought
up, 2 bad usage or a bad rig file (each problem as FILE:LINE:COL: key: message).`;

interface Parsed {
  readonly suites: Suite[];
  readonly rigFile: string;
  readonly outDir: string;
  readonly workDir?: string;
  readonly seed: number;
  readonly soakDurationS?: number;
}

function parse(argv: string[]): Parsed | 'help' {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        out: { type: 'string' },
        'work-dir': { type: 'string' },
        seed: { type: 'string' },
        duration: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  if (v.help) return 'help';
  const [command, list, ...rest] = parsed.positionals;
  if (command !== 'run')
    throw new UsageError(command ? `unknown command "${command}" (try: run)` : 'missing command: run SUITE');
  if (list === undefined) throw new UsageError('missing SUITE (a name, names separated by commas, or all)');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  const suites =
    list === 'all' ? [...SUITES] : list.split(',').map((n) => suiteNamed(n.trim()) ?? unknownSuite(n));
  if (typeof v.config !== 'string') throw new UsageError('--config RIG.yaml is required');
  const seed = v.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(v.seed);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, not ${v.seed}`);
  const duration = v.duration === undefined ? undefined : Number(v.duration);
  if (duration !== undefined && !(duration > 0))
    throw new UsageError(`--duration must be a positive number of seconds, not ${v.duration}`);
  return {
    suites,
    rigFile: v.config,
    outDir: typeof v.out === 'string' ? v.out : 'hil-results',
    seed,
    ...(typeof v['work-dir'] === 'string' ? { workDir: resolve(v['work-dir']) } : {}),
    ...(duration !== undefined ? { soakDurationS: duration } : {}),
  };
}

function unknownSuite(name: string): never {
  throw new UsageError(`unknown suite "${name}" (suites: ${SUITES.map((s) => s.name).join(', ')}, all)`);
}

async function main(argv: string[]): Promise<number> {
  let o: Parsed | 'help';
  try {
    o = parse(argv);
  } catch (e) {
    process.stderr.write(`mcubus-hil: ${(e as Error).message}\n\nRun mcubus-hil --help for usage.\n`);
    return 2;
  }
  if (o === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const log = (line: string) => process.stderr.write(`[hil] ${line}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping what the rig started`);
      killAllStarted();
      process.exit(130);
    });
  }
  log(`seed ${o.seed}`);
  let run: Awaited<ReturnType<typeof runRig>>;
  try {
    run = await runRig({ ...o, log });
  } catch (e) {
    if (e instanceof RigFileError) {
      process.stderr.write(`mcubus-hil: the rig file has problems:\n${e.message}\n`);
      return 2;
    }
    throw e;
  }
  mkdirSync(o.outDir, { recursive: true });
  const summary = toSummary(run);
  writeFileSync(join(o.outDir, 'junit.xml'), toJUnitXml(run));
  writeFileSync(join(o.outDir, 'summary.txt'), summary);
  process.stdout.write(summary);
  log(`wrote ${join(o.outDir, 'junit.xml')} and ${join(o.outDir, 'summary.txt')}`);
  return allCases(run).some((c) => c.status === 'failed' || c.status === 'error') ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`mcubus-hil: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
