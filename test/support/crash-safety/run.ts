import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient } from '@mcubus/host';
import Database from 'better-sqlite3';
import { signForSimulator, startDaemonProcess, uartDaemonConfig } from '../daemon-process.js';
import { eventually, startSimulator } from '../sim-process.js';
import { checkDatabase } from './journal-check.js';
import { describeKill, type KillPoint, killPlan, position, type TargetPhase, UPDATE_PHASES } from './plan.js';
import { JournalWatcher } from './watcher.js';

/**
 * The crash-safety run (issue 11): the real mcubusd drives the simulated reference board (another
 * process, over a pty) through successive multi-device campaigns and is SIGKILLed at seeded kill
 * points; after every kill the state database is checked, the daemon restarted on it, and the
 * campaign must resume and finish with every device running — confirmed — exactly its image.
 */
export interface CrashRunOptions {
  readonly seed: number;
  readonly kills: number;
  /** Phase kills per campaign. */
  readonly perRound?: number;
  readonly imageBytes?: number;
  readonly trialMs?: number;
  /** Run mcubusd from its TypeScript sources (tests) rather than host/dist (what users run). */
  readonly fromSource?: boolean;
  readonly progress?: (line: string) => void;
}

export interface KillRecord {
  readonly round: number;
  readonly target: string;
  /** Where the campaign stood when the signal went: "<phase>" of the device being updated, or more. */
  readonly observed: string;
  /** Restart until the API answered. */
  readonly restartMs: number;
}

export interface CrashRunResult {
  readonly seed: number;
  readonly kills: KillRecord[];
  readonly rounds: { readonly campaign: number; readonly version: string; readonly wallMs: number }[];
  /** campaign.resume entries journaled. */
  readonly resumes: number;
  /** Restart → campaign.resume, for restarts that were not killed again first. */
  readonly resumeMs: number[];
  readonly wallMs: number;
  readonly violations: string[];
}

const DEVICES = [
  { address: 0x10, hw: 'mcubus-ref-gw' },
  { address: 0x21, hw: 'mcubus-ref-node' },
  { address: 0x22, hw: 'mcubus-ref-node' },
];

export async function crashRun(o: CrashRunOptions): Promise<CrashRunResult> {
  const say = o.progress ?? (() => {});
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-crash-'));
  const dbPath = join(dir, 'state', 'mcubus.db');
  const children: ChildProcess[] = [];
  const watcher = new JournalWatcher();
  const violations: string[] = [];
  const kills: KillRecord[] = [];
  const rounds: CrashRunResult['rounds'] = [];
  const resumeMs: number[] = [];
  const campaigns: number[] = [];
  let simChild: ChildProcess | undefined;
  try {
    const sim = await startSimulator(['--pty-dir', dir, '--seed', String(o.seed)]);
    simChild = sim.child;
    const uart = sim.ports.find((p) => p.port === 'uart0')!;
    const pub = await signForSimulator(
      dir,
      join(dir, 'probe.bin'),
      Buffer.alloc(16),
      DEVICES[0]!.hw,
      '0.0.1',
    );
    const config = uartDaemonConfig(dir, [{ name: 'gw-uart', port: uart.path, baud: uart.baud }], [pub]);

    let daemon!: { child: ChildProcess; client: ApiClient; log: () => string };
    const start = async () => {
      const t0 = Date.now();
      daemon = await startDaemonProcess(dir, config, { fromSource: o.fromSource ?? false });
      children.push(daemon.child);
      watcher.follow(daemon.client);
      return Date.now() - t0;
    };
    await start();
    await eventually(
      async () => ((await daemon.client.devices()).length === DEVICES.length ? true : undefined),
      20_000,
      'the gateway and its two nodes discovered',
    );

    const plan = killPlan(o.seed, o.kills, DEVICES.length, o.perRound ?? 3);
    let carried: KillPoint[] = [];
    let finalImages = new Map<number, { version: string; sha256: string }>();
    for (let r = 0; r < plan.length || carried.length > 0; r++) {
      if (r > plan.length + 3)
        throw new Error(`kill points never reached: ${carried.map(describeKill).join('; ')}`);
      const version = `2.${r}.0`;
      const images = new Map<number, { path: string; version: string; sha256: string }>();
      for (const d of DEVICES) {
        const path = join(dir, `r${r}-${d.address.toString(16)}.bin`);
        // Different bytes per round and device, so a stale image can never pass for the new one.
        const bytes = Buffer.alloc(o.imageBytes ?? 24 * 1024, (r * 7 + d.address) & 0xff);
        await signForSimulator(dir, path, bytes, d.hw, version);
        images.set(d.address, { path, version, sha256: createHash('sha256').update(bytes).digest('hex') });
      }
      const t0 = Date.now();
      const sinceId = watcher.lastId;
      // The previous campaign's last update entry must not count as progress in this one.
      watcher.last = undefined;
      const res = await daemon.client.startCampaign({
        items: DEVICES.map((d) => ({ device: d.address, image: images.get(d.address)!.path })),
        trialMs: o.trialMs ?? 500,
      });
      if (res.id === undefined) throw new Error(`campaign refused: ${JSON.stringify(res.plan)}`);
      const id = res.id;
      campaigns.push(id);
      // The items in the order they run (one bus: by step).
      const order = [...res.plan].sort((a, b) => a.step - b.step).map((p) => p.device);
      const finished = () => watcher.find('campaign.done', sinceId, id).length > 0;
      const points = [...carried, ...(plan[r] ?? [])];
      carried = [];
      say(
        `round ${r}: campaign ${id} to ${version}, order ${order.map(hex).join(' ')}, ${points.length} kill(s)`,
      );

      for (const [i, k] of points.entries()) {
        const reached = await waitFor(k, order, daemon.client, watcher, finished);
        if (!reached) {
          // The campaign finished first: the rest of this round's points go to the next campaign.
          carried = points.slice(i);
          break;
        }
        const observed = await where(order, watcher, daemon.client, finished());
        daemon.child.kill('SIGKILL');
        await new Promise((res) =>
          daemon.child.exitCode !== null ? res(0) : daemon.child.once('exit', res),
        );
        for (const p of checkDatabase(dbPath, watcher.acknowledged, campaigns))
          violations.push(`kill ${kills.length + 1} (${observed}): ${p}`);
        const killedId = watcher.lastId;
        const restartMs = await start();
        kills.push({ round: r, target: describeKill(k), observed, restartMs });
        say(
          `  kill ${kills.length}: target ${describeKill(k)}, observed ${observed}; API back in ${restartMs} ms`,
        );
        if (finished()) {
          // Killed between campaigns: the rest go to the next campaign (else they would all fire here).
          carried = points.slice(i + 1);
          break;
        }
        const next = points[i + 1];
        if (next?.at !== 'restart') {
          const t = Date.now();
          await eventually(
            () => (watcher.find('campaign.resume', killedId, id).length > 0 ? true : undefined),
            20_000,
            `campaign ${id} resumed after kill ${kills.length}`,
            () => `${stateOf(dbPath, id)}\n${daemon.log()}`,
          );
          resumeMs.push(Date.now() - t + restartMs);
        }
      }
      await eventually(() => (finished() ? true : undefined), 180_000, `campaign ${id} finished`, daemon.log);
      const c = (await daemon.client.campaigns()).find((x) => x.id === id);
      if (c?.state !== 'finished') violations.push(`campaign ${id} ended ${c?.state ?? 'missing'}`);
      for (const it of c?.items ?? [])
        if (it.state !== 'done')
          violations.push(`campaign ${id}: 0x${hex(it.device)} ${it.state}: ${it.detail}`);
      rounds.push({ campaign: id, version, wallMs: Date.now() - t0 });
      finalImages = new Map([...images].map(([a, v]) => [a, { version: v.version, sha256: v.sha256 }]));
      say(`round ${r} done in ${Date.now() - t0} ms`);
    }

    violations.push(...(await checkDevices(daemon.client, finalImages)));
    daemon.child.kill('SIGTERM');
    await new Promise((res) => (daemon.child.exitCode !== null ? res(0) : daemon.child.once('exit', res)));
    violations.push(...checkDatabase(dbPath, watcher.acknowledged, campaigns).map((p) => `at the end: ${p}`));
    return {
      seed: o.seed,
      kills,
      rounds,
      resumes: watcher.find('campaign.resume').length,
      resumeMs,
      wallMs: Date.now() - started,
      violations,
    };
  } finally {
    watcher.close();
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    // The simulator stops its socat bridges on SIGTERM (a SIGKILL would leave them running).
    if (simChild && simChild.exitCode === null) {
      const sim = simChild;
      const exited = new Promise((r) => sim.once('exit', r));
      sim.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (sim.exitCode === null) sim.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The campaign's row and the journal's last entries, for a failure message. */
function stateOf(dbPath: string, id: number): string {
  const db = new Database(dbPath, { readonly: true });
  try {
    const c = db.prepare('SELECT state FROM campaigns WHERE id = ?').get(id);
    const items = db.prepare('SELECT device, state, detail FROM campaign_items WHERE campaign = ?').all(id);
    const last = db.prepare('SELECT id, kind, message FROM events ORDER BY id DESC LIMIT 6').all();
    return JSON.stringify({ campaign: c, items, last });
  } finally {
    db.close();
  }
}

/**
 * Each device runs the final image, confirmed: the version it reports, then — after a RESET, because
 * only a confirmed image survives one (a test image reverts) and the simulator's HELLO describes the
 * slots as they were at boot — its active slot's SHA-256 and confirmed flag from a fresh HELLO.
 */
async function checkDevices(client: ApiClient, want: Map<number, { version: string; sha256: string }>) {
  const problems: string[] = [];
  const devices = await client.devices();
  for (const [address, w] of want) {
    const d = devices.find((x) => x.address === address);
    if (d?.firmwareVersion !== w.version)
      problems.push(`0x${hex(address)} reports ${d?.firmwareVersion ?? 'nothing'}, not ${w.version}`);
  }
  // Nodes first: resetting the gateway cuts the path to them for a moment.
  for (const address of [...want.keys()].sort((a, b) => b - a)) {
    const w = want.get(address)!;
    // A daemon just restarted (the last kill can land right after the campaign's end) has no route to
    // a device until it has heard from it: ask until the route is known, then the RESET must answer.
    let r = await client.request(address, { type: 'reset', body: { target: 0 } }, 2000);
    for (let i = 0; i < 50 && !r.ok && /never heard from it/.test(r.error ?? ''); i++) {
      await sleep(100);
      r = await client.request(address, { type: 'reset', body: { target: 0 } }, 2000);
    }
    if (!r.ok) problems.push(`0x${hex(address)}: RESET not answered: ${r.error}`);
    await sleep(500);
    const slots = await eventually(
      async () => {
        const a = await client.request(address, { type: 'identify', body: {} }, 1000);
        return a.ok
          ? (((a.answer?.body as { slots?: unknown[] } | undefined)?.slots ?? []) as Slot[])
          : undefined;
      },
      15_000,
      `0x${hex(address)} answering IDENTIFY after its reset`,
    );
    const active = slots.find((s) => (s.flags & 1) !== 0 && s.index !== 0xf0);
    if (!active) problems.push(`0x${hex(address)}: no active application slot in its HELLO`);
    else {
      if ((active.flags & 2) === 0) problems.push(`0x${hex(address)}: active image not confirmed`);
      if (hexOf(active.sha256) !== w.sha256)
        problems.push(
          `0x${hex(address)}: active image ${active.version.join('.')} hash ${hexOf(active.sha256)} ≠ ${w.sha256}`,
        );
    }
  }
  return problems;
}

interface Slot {
  readonly index: number;
  readonly version: number[];
  readonly flags: number;
  readonly sha256?: unknown;
}

/**
 * Waits until the campaign has reached (or passed) the kill point; false when it finished first.
 * Phase entries arrive on the event stream; how far a transfer is comes from polling the updates.
 */
async function waitFor(
  k: KillPoint,
  order: number[],
  client: ApiClient,
  watcher: JournalWatcher,
  finished: () => boolean,
): Promise<boolean> {
  const startedAt = Date.now();
  for (;;) {
    if (k.at === 'restart') {
      await sleep(k.delayMs);
      return true;
    }
    // Checked before "finished": the last device's update.done and campaign.done come together, and a
    // kill there (between campaigns) is a kill point too.
    const ended = finished();
    const at = current(order, watcher);
    if (at !== undefined) {
      let pos = at.pos;
      if (k.phase === 'transfer' && at.phase === 'transfer' && at.item === k.item) {
        const u = (await client.updates().catch(() => [])).find((x) => x.device === order[at.item]);
        if (u && u.size > 0) pos = position(at.item, 'transfer', u.acked / u.size);
      }
      if (pos >= position(k.item, k.phase, k.fraction)) {
        await sleep(k.delayMs);
        return true;
      }
    }
    if (ended) return false;
    if (Date.now() - startedAt > 300_000)
      throw new Error(`kill point ${describeKill(k)} not reached in 300 s`);
    await sleep(10);
  }
}

const PHASE_OF: Record<string, TargetPhase> = {
  start: 'probe',
  resumed: 'transfer',
  reset: 'boot_wait',
  done: 'between',
  failed: 'between',
  rolled_back: 'between',
  cancelled: 'between',
};

function current(order: number[], w: JournalWatcher) {
  if (!w.last) return undefined;
  const item = order.indexOf(w.last.device);
  const phase = (UPDATE_PHASES as readonly string[]).includes(w.last.phase)
    ? (w.last.phase as TargetPhase)
    : PHASE_OF[w.last.phase];
  if (item < 0 || phase === undefined) return undefined;
  return { item, phase, pos: position(item, phase) };
}

/** Where the campaign stands: the phase (with the transfer's %) and the device being updated. */
async function where(
  order: number[],
  w: JournalWatcher,
  client: ApiClient,
  finished: boolean,
): Promise<string> {
  if (finished) return 'campaign finished';
  const at = current(order, w);
  if (!at) return 'resume wait';
  const of = ` of 0x${hex(order[at.item]!)}`;
  if (at.phase !== 'transfer') return `${at.phase}${of}`;
  const u = (await client.updates().catch(() => [])).find((x) => x.device === order[at.item]);
  return u && u.size > 0 ? `transfer ${Math.floor((u.acked / u.size) * 100)} %${of}` : `transfer${of}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const hex = (n: number) => n.toString(16).padStart(2, '0');

function hexOf(v: unknown): string {
  if (typeof v === 'string')
    return /^[0-9a-f]+$/i.test(v) ? v.toLowerCase() : Buffer.from(v, 'base64').toString('hex');
  if (Array.isArray(v)) return Buffer.from(v as number[]).toString('hex');
  if (v && typeof v === 'object' && 'type' in v && 'data' in v)
    return Buffer.from((v as { data: number[] }).data).toString('hex');
  // A Uint8Array through JSON.stringify: {"0": 12, "1": 34, …}.
  if (v && typeof v === 'object')
    return Buffer.from(Object.values(v as Record<string, number>)).toString('hex');
  return String(v);
}
