/**
 * The long parser-fuzzing run (issue 11): `npm run fuzz -- --inputs N [--parser NAME] [--jobs J]`.
 *
 * Each parser runs in its own child process, in batches of BATCH inputs with a fresh fast-check seed per
 * batch; the child prints one JSON line per batch. A child silent for STALL_MS is killed and counted as
 * a hang: a synchronous parser stuck in a loop cannot be interrupted from inside its own process.
 * Prints a markdown table for docs/reliability.md and exits 1 on any crash or hang.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type FuzzReport, fuzz } from './fuzz-core.js';
import { TARGETS, targetNamed } from './targets.js';

const BATCH = 20_000;
const STALL_MS = 120_000;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function child(name: string, inputs: number, firstSeed: number): Promise<void> {
  const target = targetNamed(name);
  for (let done = 0, batch = 0; done < inputs; batch++) {
    const n = Math.min(BATCH, inputs - done);
    const r = await fuzz(target, n, firstSeed + batch);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    if (r.failure) process.exit(1);
    done += n;
  }
}

interface Total {
  parser: string;
  inputs: number;
  crashes: number;
  hangs: number;
  slowestMs: number;
  seconds: number;
  codes: Record<string, number>;
  failure?: string;
}

function runChild(name: string, inputs: number, seed: number): Promise<Total> {
  const total: Total = { parser: name, inputs: 0, crashes: 0, hangs: 0, slowestMs: 0, seconds: 0, codes: {} };
  const self = fileURLToPath(import.meta.url);
  const args = ['--conditions=source', '--import', 'tsx', self, '--child', name];
  const proc = spawn(process.execPath, [...args, '--inputs', String(inputs), '--seed', String(seed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout;
    const stall = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        total.hangs++;
        total.failure = `no progress for ${STALL_MS / 1000} s`;
        proc.kill('SIGKILL');
      }, STALL_MS);
    };
    stall();
    let buf = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const r = JSON.parse(buf.slice(0, nl)) as FuzzReport;
        buf = buf.slice(nl + 1);
        stall();
        total.inputs += r.inputs;
        total.crashes += r.crashes;
        total.hangs += r.hangs;
        total.slowestMs = Math.max(total.slowestMs, r.slowestMs);
        total.seconds += r.seconds;
        for (const [c, n] of Object.entries(r.codes)) total.codes[c] = (total.codes[c] ?? 0) + n;
        if (r.failure) total.failure = r.failure;
        process.stderr.write(`${name}: ${total.inputs}/${inputs}\r`);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0 && !total.failure) {
        total.crashes++;
        total.failure = `child exited with ${code}`;
      }
      resolve(total);
    });
  });
}

async function main(): Promise<void> {
  const inputs = Number(arg('inputs') ?? 100_000);
  const seed = Number(arg('seed') ?? 1);
  const childName = arg('child');
  if (childName) return child(childName, inputs, seed);
  const only = arg('parser');
  const names = only ? [targetNamed(only).name] : TARGETS.map((t) => t.name);
  const jobs = Number(arg('jobs') ?? availableParallelism());
  // The YAML config parser is by far the slowest per input: start it first so it does not run alone at the end.
  const queue = [...names].sort((a, b) => Number(b === 'config') - Number(a === 'config'));
  const totals: Total[] = [];
  const started = Date.now();
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift())
        totals.push(await runChild(n, inputs, seed));
    }),
  );
  totals.sort((a, b) => names.indexOf(a.parser) - names.indexOf(b.parser));
  console.log(
    `\nfuzz: ${inputs} inputs per parser, seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s wall`,
  );
  console.log('| parser | inputs | crashes | hangs | slowest input (ms) | CPU s | outcome codes seen |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const t of totals) {
    const codes = Object.keys(t.codes).sort().join(', ');
    console.log(
      `| ${t.parser} | ${t.inputs} | ${t.crashes} | ${t.hangs} | ${t.slowestMs} | ${Math.round(t.seconds)} | ${codes} |`,
    );
  }
  const failed = totals.filter((t) => t.failure);
  for (const t of failed) console.log(`\n${t.parser} FAILED: ${t.failure}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

await main();
