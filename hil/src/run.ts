import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configText, daemonConfig } from './daemon-config.js';
import { RigSetupError } from './errors.js';
import { powerGroups } from './power.js';
import { DaemonProcess } from './procs/daemon-process.js';
import { DeviceProcess } from './procs/device-process.js';
import type { CaseResult, RunResult, SuiteResult } from './report/model.js';
import { loadRig } from './rig/parse-rig.js';
import type { RigSpec } from './rig/types.js';
import type { Suite, SuiteContext } from './suites/context.js';
import { simulatorKey } from './update/keys.js';
import { until } from './wait.js';

export interface RunOptions {
  readonly rigFile: string;
  readonly suites: readonly Suite[];
  /** Logs, daemon state, generated images; default a new directory under the system temp dir. */
  readonly workDir?: string;
  readonly seed: number;
  readonly soakDurationS?: number;
  readonly log: (line: string) => void;
}

/**
 * One run of the rig: read the rig file (a RigFileError escapes before anything starts), start the
 * device processes and mcubusd, run the suites in order, stop everything the rig started. A rig that
 * cannot be brought up is reported as an errored `setup` case, so CI still gets its JUnit file.
 */
export async function runRig(o: RunOptions): Promise<RunResult> {
  const workDir = o.workDir ?? mkdtempSync(join(tmpdir(), 'mcubus-hil-'));
  mkdirSync(workDir, { recursive: true });
  const rig = loadRig(o.rigFile, workDir);
  const startedAtMs = Date.now();
  const result = (suites: SuiteResult[]): RunResult => ({
    rig: rig.name,
    startedAtMs,
    seed: o.seed,
    workDir,
    suites,
  });

  const processes = new Map<string, DeviceProcess>();
  let daemon: DaemonProcess | undefined;
  try {
    let ctx: SuiteContext;
    try {
      for (const p of rig.processes) {
        const proc = new DeviceProcess(p, rig.dir, join(workDir, `${p.name}.log`));
        processes.set(p.name, proc);
        o.log(`starting ${p.name}`);
        await proc.start();
      }
      daemon = await startDaemon(rig, workDir, o);
      await expectedDevicesKnown(rig, daemon, o.log);
      ctx = {
        rig,
        client: daemon.client,
        groups: powerGroups(rig.devices, processes, rig.dir),
        workDir,
        seed: o.seed,
        log: o.log,
        ...(o.soakDurationS !== undefined ? { soakDurationS: o.soakDurationS } : {}),
      };
    } catch (e) {
      return result([setupFailure(e as Error, startedAtMs)]);
    }
    const suites: SuiteResult[] = [];
    for (const suite of o.suites) {
      o.log(`suite ${suite.name}`);
      const start = Date.now();
      let cases: CaseResult[];
      try {
        cases = await suite.run(ctx);
      } catch (e) {
        cases = [errored(`${suite.name} could not run`, e as Error)];
      }
      suites.push({ name: suite.name, startedAtMs: start, timeS: (Date.now() - start) / 1000, cases });
    }
    return result(suites);
  } finally {
    await daemon?.stop();
    for (const p of processes.values()) {
      await p.stop('SIGTERM');
      p.close();
    }
  }
}

async function startDaemon(rig: RigSpec, workDir: string, o: RunOptions): Promise<DaemonProcess> {
  const trusted: string[] = [];
  const images = rig.update.images;
  if (
    o.suites.some((s) => s.name === 'update') &&
    images?.kind === 'generate' &&
    images.key === 'simulator'
  ) {
    trusted.push((await simulatorKey(workDir)).publicKey);
  }
  const config = daemonConfig(rig.daemon.config, workDir, trusted);
  const configFile = join(workDir, 'mcubusd.yaml');
  writeFileSync(configFile, configText(config));
  const socket = (config.api as { socket: string }).socket;
  const daemon = new DaemonProcess(
    rig.daemon.command,
    configFile,
    socket,
    join(workDir, 'mcubusd.log'),
    rig.dir,
  );
  o.log(`starting mcubusd (${configFile})`);
  await daemon.start();
  return daemon;
}

/**
 * Waits (up to 30 s) until the daemon knows every expected device, so suites start from a discovered
 * rig. Missing devices are not a setup failure: the discovery suite reports them.
 */
async function expectedDevicesKnown(rig: RigSpec, daemon: DaemonProcess, log: (line: string) => void) {
  let missing: number[] = [];
  try {
    await until(
      async () => {
        const known = new Set((await daemon.client.devices()).map((d) => d.address));
        missing = rig.devices.filter((d) => !known.has(d.address)).map((d) => d.address);
        return missing.length === 0 ? true : undefined;
      },
      { ms: 30_000, what: 'every expected device known', intervalMs: 200 },
    );
  } catch {
    log(`not discovered after 30 s: ${missing.map((a) => `0x${a.toString(16)}`).join(', ')}`);
  }
}

function setupFailure(e: Error, startedAtMs: number): SuiteResult {
  const message = e instanceof RigSetupError ? e.message : `${e.name}: ${e.message}`;
  return {
    name: 'setup',
    startedAtMs,
    timeS: (Date.now() - startedAtMs) / 1000,
    cases: [errored('rig setup', e, message)],
  };
}

function errored(name: string, e: Error, message = `${e.name}: ${e.message}`): CaseResult {
  return { name, status: 'error', timeS: 0, message, figures: [], journal: [] };
}
