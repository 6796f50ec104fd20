// Runs every *.bench.ts in test/bench, prints a table and writes bench-results.json at the repo root.
// Usage: npm run bench [-- FILTER]   (FILTER keeps bench files whose name contains it)
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts') && f.includes(filter))
  .sort();

const results: BenchResult[] = [];
for (const file of files) {
  const mod = (await import(pathToFileURL(join(here, file)).href)) as {
    run: () => Promise<BenchResult[]> | BenchResult[];
  };
  const started = Date.now();
  const out = await mod.run();
  results.push(...out);
  console.error(`${file}: ${out.length} result(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const fmt = (n: number) =>
  Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toFixed(4);
const rows = results.map((r) => [r.id, fmt(r.value), r.unit, fmt(r.ceiling), fmt(r.ratio)]);
const head = ['id', 'value', 'unit', 'ceiling', 'ratio'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) =>
  cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));

const outPath = join(here, '..', '..', 'bench-results.json');
writeFileSync(outPath, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${results.length} result(s) to bench-results.json`);
