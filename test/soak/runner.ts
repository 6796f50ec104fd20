import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildBoard,
  buildSignedImage,
  FlashStorage,
  type Mcu,
  NS_PER_MS,
  SIM_SIGNING_KEY,
  type SimBoard,
} from '@mcubus/firmware-sim';
import type { Daemon, Registry } from '@mcubus/host';
import { SlotFlag } from '@mcubus/protocol';
import { daemonOn } from '../support/sim-daemon.js';
import { type SoakBoardName, soakBoard } from './boards.js';
import { InvariantChecker } from './invariants.js';
import type { SoakReport } from './report.js';
import { planSoak, type SoakEvent } from './schedule.js';

/**
 * Binds the pure parts (schedule, invariants, report) to the simulator and the real daemon in virtual
 * time. The only inputs are (seed, hours, board): no wall clock and no Math.random reach the simulated
 * part, so the same arguments replay the same run.
 */
export interface SoakOptions {
  readonly seed: number;
  readonly hours: number;
  readonly board: SoakBoardName;
  /** Told every simulated minute (the CLI's --progress). */
  readonly progress?: (simMs: number) => void;
}

/** Virtual time per loop turn; the daemon's promise continuations run between turns. */
const STEP_MS = 20;
const TIME_SAMPLE_EVERY_MS = 10_000;
const CAMPAIGN_POLL_EVERY_MS = 1_000;
/** A daemon that has just started has not yet had the chance to see a device go down. */
const FRESH_DAEMON_MS = 30_000;
const IMAGE_BYTES = 24 * 1024;

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined);

/** SHA-256 of the application image the MCU booted (the active slot). */
function runningSha(mcu: Mcu): string | undefined {
  const slot = mcu.bootOutcome?.slots.find((s) => s.index < 2 && s.flags & SlotFlag.active);
  return hex(slot?.sha256);
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const plan = planSoak(o.seed, o.hours, soakBoard(o.board));
  const board = buildBoard(plan.spec, o.seed);
  const root = mkdtempSync(join(tmpdir(), 'mcubus-soak-'));
  const stateDir = join(root, 'state');
  const checker = new InvariantChecker();
  const faults: Record<string, number> = {};
  const count = (kind: string) => {
    faults[kind] = (faults[kind] ?? 0) + 1;
  };
  const nowMs = () => board.sim.now / NS_PER_MS;
  const after = (ms: number, fn: () => void) => board.sim.scheduler.after(ms * NS_PER_MS, fn);
  const byName = (name: string) => board.mcus.get(name)!;
  const offSince = new Map<string, number>();
  const powerOff = (mcu: Mcu) => {
    if (mcu.state !== 'off') offSince.set(mcu.name, nowMs());
    mcu.powerOff();
  };

  let d!: { daemon: Daemon; registry: Registry; startedMs: number; announced: number[] };
  const startDaemon = () => {
    const { daemon, registry } = daemonOn(board, stateDir, { trustedKeys: [SIM_SIGNING_KEY.publicKey] });
    const announced: number[] = [];
    daemon.subscribe((e) => announced.push(e.id));
    void daemon.start();
    d = { daemon, registry, startedMs: nowMs(), announced };
  };
  const checkJournal = () => {
    const stored = d.registry
      .query({ sinceId: 0, limit: Number.MAX_SAFE_INTEGER })
      .map((e) => e.id)
      .sort((a, b) => a - b);
    checker.journal(nowMs(), d.announced, stored);
  };
  startDaemon();

  // Campaign id → device address → the image's SHA-256; items already checked.
  const expected = new Map<number, Map<number, string>>();
  const checked = new Set<string>();
  let updatesDone = 0;
  // Campaign items by their state at the end (done, failed after retries, still running, …).
  const campaignItems: Record<string, number> = {};
  const failureReasons: Record<string, number> = {};

  const startCampaign = (minor: number) => {
    if (d.daemon.campaigns().some((c) => c.state === 'running')) return count('campaign_skipped');
    const sha = new Map<number, string>();
    const items = plan.spec.mcus.map((m) => {
      const img = buildSignedImage(
        {
          hardwareId: m.hardwareId,
          kind: 0,
          version: [1, minor, 0],
          size: IMAGE_BYTES,
          contentSeed: `soak:${minor}:${m.name}`,
        },
        SIM_SIGNING_KEY.privateKey,
      );
      const imagePath = join(root, `${m.name}-${minor}.bin`);
      writeFileSync(imagePath, img.image);
      writeFileSync(`${imagePath}.manifest`, img.envelope);
      sha.set(m.address, hex(img.manifest.sha256)!);
      return { device: m.address, imagePath, manifestPath: `${imagePath}.manifest` };
    });
    const { id } = d.daemon.startCampaign({ items, trialMs: 1000 }, false);
    if (id === undefined) return count('campaign_refused');
    expected.set(id, sha);
    count('campaign');
  };

  const pollCampaigns = () => {
    for (const c of d.daemon.campaigns()) {
      for (const item of c.items) {
        const key = `${c.id}:${item.device}`;
        const sha = expected.get(c.id)?.get(item.device);
        if (item.state !== 'done' || checked.has(key) || sha === undefined) continue;
        checked.add(key);
        updatesDone++;
        const mcu = [...board.mcus.values()].find((m) => m.address === item.device)!;
        checker.updateDone(nowMs(), mcu.name, sha, runningSha(mcu));
      }
    }
  };

  const fire = async (e: SoakEvent) => {
    switch (e.kind) {
      case 'crash':
        byName(e.mcu).crash();
        return count(e.kind);
      case 'hang':
        byName(e.mcu).hang();
        return count(e.kind);
      case 'gateway_reboot':
      case 'power_cycle': {
        const mcu = byName(e.mcu);
        powerOff(mcu);
        after(e.kind === 'power_cycle' ? e.offMs : 300, () => mcu.powerOn());
        return count(e.kind);
      }
      case 'flash_power_cut': {
        const mcu = byName(e.mcu);
        if (!(mcu.storage instanceof FlashStorage)) return;
        const storage = mcu.storage;
        storage.cutPowerAtOp(storage.flash.opsStarted + e.op, () => {
          count('flash_power_cut');
          // Outside the flash's own callback: the MCU turns off, and comes back after offMs.
          after(0, () => {
            powerOff(mcu);
            after(e.offMs, () => mcu.powerOn());
          });
        });
        return;
      }
      case 'daemon_restart':
        await d.daemon.stop();
        checkJournal();
        d.registry.close();
        startDaemon();
        return count(e.kind);
      case 'campaign':
        return startCampaign(e.minor);
      case 'expect_down': {
        const mcu = byName(e.mcu);
        const since = offSince.get(mcu.name);
        if (mcu.state !== 'off' || since === undefined || nowMs() - since < 10_000) return;
        if (nowMs() - d.startedMs < FRESH_DAEMON_MS) return;
        const state = d.daemon.health().find((h) => h.address === mcu.address)?.state;
        checker.health(nowMs(), mcu.name, state, ['down', 'unreachable']);
        return;
      }
    }
  };

  const sampleTime = () => {
    const ts = d.daemon.timeService;
    if (!ts) return;
    const nowUs = board.sim.now / 1000;
    for (const mcu of board.mcus.values()) {
      if (mcu.state !== 'running') continue;
      const r = ts.hostOf(mcu.address, mcu.clock.readUs(board.sim.now), nowUs);
      if (!r) continue;
      checker.timeSample(Math.abs(r.hostUs - nowUs), r.boundUs);
      if (process.env.SOAK_TIME_MISSES && Math.abs(r.hostUs - nowUs) > r.boundUs)
        console.error(
          `${(nowUs / 1e6).toFixed(1)} s ${mcu.name}: error ${Math.round(Math.abs(r.hostUs - nowUs))} µs > bound ${Math.round(r.boundUs)} µs`,
          JSON.stringify(d.daemon.time().find((t) => t.address === mcu.address)),
        );
    }
  };

  try {
    let next = 0;
    let nextSample = TIME_SAMPLE_EVERY_MS;
    let nextPoll = CAMPAIGN_POLL_EVERY_MS;
    let nextProgress = 60_000;
    while (nowMs() < plan.durationMs) {
      board.sim.runFor(STEP_MS * NS_PER_MS);
      await Promise.resolve();
      await Promise.resolve();
      while (next < plan.events.length && plan.events[next]!.atMs <= nowMs())
        await fire(plan.events[next++]!);
      if (nowMs() >= nextSample) {
        nextSample += TIME_SAMPLE_EVERY_MS;
        sampleTime();
      }
      if (o.progress && nowMs() >= nextProgress) {
        nextProgress += 60_000;
        o.progress(nowMs());
      }
      if (nowMs() >= nextPoll) {
        nextPoll += CAMPAIGN_POLL_EVERY_MS;
        pollCampaigns();
      }
    }
    for (const c of d.daemon.campaigns())
      for (const item of c.items) campaignItems[item.state] = (campaignItems[item.state] ?? 0) + 1;
    // Why updates failed, from the journal (every daemon of the run wrote to the same one).
    const journal = d.daemon.events({ limit: 1_000_000 });
    const traced = process.env.SOAK_JOURNAL ? Number(process.env.SOAK_JOURNAL) : null;
    if (traced !== null)
      for (const e of [...journal].reverse())
        if (e.device === traced)
          console.error(`${((e.atMs - Date.UTC(2026, 0, 1)) / 1000).toFixed(1)} ${e.kind} ${e.message}`);
    for (const e of journal)
      if (e.kind === 'update.failed') {
        const reason = String((e.data as { reason?: string } | undefined)?.reason ?? 'unknown');
        failureReasons[reason] = (failureReasons[reason] ?? 0) + 1;
        if (process.env.SOAK_FAILURES) console.error(`${(e.atMs / 1000).toFixed(1)} ${e.message}`);
      }
    finalChecks(board, d.daemon, checker, nowMs());
    checkJournal();
    checker.finish(nowMs());
    await d.daemon.stop();
    d.registry.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return {
    seed: o.seed,
    board: o.board,
    hours: o.hours,
    faults,
    checks: { ...checker.checks },
    time: checker.timeShare,
    updatesDone,
    campaignItems,
    failureReasons,
    violations: checker.violations,
  };
}

/** After the quiet tail: every MCU runs an application and the daemon calls it up. */
function finalChecks(board: SimBoard, daemon: Daemon, checker: InvariantChecker, atMs: number): void {
  const updating = new Set(
    daemon
      .campaigns()
      .flatMap((c) => c.items)
      .filter((i) => i.state === 'running')
      .map((i) => i.device),
  );
  const health = daemon.health();
  for (const mcu of board.mcus.values()) {
    checker.mcuAtEnd(atMs, mcu.name, mcu.state, mcu.bootOutcome?.mode);
    if (updating.has(mcu.address)) continue;
    checker.health(atMs, mcu.name, health.find((h) => h.address === mcu.address)?.state, ['up']);
  }
}
