import { parseArgs } from 'node:util';
import { crashRun } from '../test/support/crash-safety/run.js';

/**
 * `npm run crash-safety -- --kills 20 --seed S`: SIGKILLs the real (compiled) mcubusd at seeded
 * points of update campaigns on the simulated board and prints the figures (docs/reliability.md).
 * Exits 1 on any violation, with the command that replays the same kill points.
 */
const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '20' },
    seed: { type: 'string' },
    'per-round': { type: 'string', default: '3' },
    'image-kib': { type: 'string', default: '24' },
    json: { type: 'boolean', default: false },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const kills = Number(values.kills);
const replay = `npm run crash-safety -- --kills ${kills} --seed ${seed} --per-round ${values['per-round']} --image-kib ${values['image-kib']}`;
console.log(`crash safety: seed ${seed}, ${kills} kills (replay: ${replay})`);
try {
  const r = await crashRun({
    seed,
    kills,
    perRound: Number(values['per-round']),
    imageBytes: Number(values['image-kib']) * 1024,
    progress: (line) => console.log(line),
  });
  const byPhase = new Map<string, number>();
  // Transfers are reported as "transfer N %": one row, the percentages listed after it.
  const key = (o: string) => (o.startsWith('transfer') ? 'transfer' : o.replace(/ of 0x[0-9a-f]+$/, ''));
  for (const k of r.kills) byPhase.set(key(k.observed), (byPhase.get(key(k.observed)) ?? 0) + 1);
  const pcts = r.kills
    .filter((k) => k.observed.startsWith('transfer '))
    .map((k) => k.observed.slice(9).replace(/ of 0x[0-9a-f]+$/, ''));
  const restart = r.kills.map((k) => k.restartMs);
  console.log(
    `\nkills: ${r.kills.length}; by phase: ${[...byPhase].map(([p, n]) => `${p} ${n}`).join(', ')}`,
  );
  if (pcts.length) console.log(`transfer kills at: ${pcts.join(', ')}`);
  console.log(
    `campaigns: ${r.rounds.length}, each finished (${r.rounds.map((x) => `${(x.wallMs / 1000).toFixed(1)} s`).join(', ')})`,
  );
  console.log(
    `resumes journaled: ${r.resumes}; restart → API up: median ${median(restart)} ms, max ${Math.max(...restart)} ms`,
  );
  console.log(
    `restart → campaign.resume: median ${median(r.resumeMs)} ms, max ${Math.max(...r.resumeMs)} ms`,
  );
  console.log(`wall time: ${(r.wallMs / 1000).toFixed(1)} s; violations: ${r.violations.length}`);
  for (const v of r.violations) console.log(`  VIOLATION ${v}`);
  if (values.json) console.log(JSON.stringify(r));
  if (r.violations.length > 0) {
    console.log(`replay: ${replay}`);
    process.exit(1);
  }
} catch (e) {
  console.error(`crash-safety run failed (seed ${seed}): ${(e as Error).message}\nreplay: ${replay}`);
  process.exit(1);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : 0;
}
