import {
  type BoardSpec,
  buildBoard,
  HOST_STAMP_PROFILES,
  type HostStampProfile,
  type McuSpec,
  NS_PER_MS,
  Prng,
  type SimBoard,
} from '@mcubus/firmware-sim';
import { type Daemon, simRuntime, simTransports } from '@mcubus/host';
import { daemonOn } from './sim-daemon.js';

/**
 * Time-alignment scenarios shared by the benchmark and the tests: the real daemon on a small
 * simulated board in virtual time, with host stamp jitter on the host's bus, and an observer that
 * compares the daemon's estimate of where a device timestamp lies on the host timeline with the
 * simulator's true time.
 */
export type TimeScenarioName = 'uart115200' | 'can500k' | 'via_gateway';

export interface TimeScenario {
  readonly board: SimBoard;
  readonly daemon: Daemon;
  /** The device whose clock is measured. */
  readonly target: { readonly name: string; readonly address: number };
}

/** A clock somewhere in ±100 ppm with a random-walk drift, from the seed. */
function randomClock(rng: Prng, counterBits: 32 | 64): McuSpec['clock'] {
  return {
    offsetUs: rng.int(2 ** 31),
    skewPpm: rng.range(-100, 100),
    driftPpmPerSqrtHour: 1,
    counterBits,
  };
}

export function timeBoard(name: TimeScenarioName, seed: number): BoardSpec {
  const rng = new Prng(`time-board:${name}:${seed}`);
  const node = (n: string, address: number, bus: string): McuSpec => ({
    name: n,
    address,
    hardwareId: 'mcubus-time-node',
    clock: randomClock(rng, 32),
    ports: [{ bus }],
    watchdogMs: 500,
  });
  switch (name) {
    case 'uart115200':
      return {
        name,
        buses: [{ kind: 'uart', name: 'uart0', baud: 115200, ends: ['host', 'dev'] }],
        host: { buses: ['uart0'] },
        mcus: [node('dev', 0x10, 'uart0')],
      };
    case 'can500k':
      return {
        name,
        buses: [{ kind: 'can', name: 'can0', bitrate: 500_000 }],
        host: { buses: ['can0'] },
        // A second node shares the bus: its heartbeats compete in arbitration.
        mcus: [node('dev', 0x21, 'can0'), node('other', 0x22, 'can0')],
      };
    case 'via_gateway':
      return {
        name,
        buses: [
          { kind: 'uart', name: 'uart0', baud: 115200, ends: ['host', 'gw'] },
          { kind: 'can', name: 'can0', bitrate: 500_000 },
        ],
        host: { buses: ['uart0'] },
        mcus: [
          { ...node('gw', 0x10, 'uart0'), ports: [{ bus: 'uart0' }, { bus: 'can0' }], gateway: {} },
          node('dev', 0x21, 'can0'),
        ],
      };
  }
}

/** The host stamp jitter the scenario's host bus has (docs/time.md). */
export function stampsFor(name: TimeScenarioName): Record<string, HostStampProfile> {
  return name === 'can500k'
    ? { can0: HOST_STAMP_PROFILES.kernelTimestamp }
    : { uart0: HOST_STAMP_PROFILES.serial };
}

export function startTimeScenario(
  name: TimeScenarioName,
  seed: number,
  stateDir: string,
  stamps: Record<string, HostStampProfile> = stampsFor(name),
): TimeScenario {
  const board = buildBoard(timeBoard(name, seed), seed);
  const runtime = simRuntime(board.sim);
  const { daemon } = daemonOn(board, stateDir, {
    transports: simTransports(board, runtime, undefined, { stamps }),
  });
  void daemon.start();
  const address = name === 'uart115200' ? 0x10 : 0x21;
  return { board, daemon, target: { name: 'dev', address } };
}

export interface AlignmentStats {
  readonly errorsUs: number[];
  readonly boundsUs: number[];
  covered: number;
  readonly skewErrorsPpm: number[];
  /** Errors of a naive offset-only sync fed the same exchanges (direct devices only). */
  readonly naiveErrorsUs: number[];
}

/**
 * Samples the alignment every `everyMs` of virtual time for `seconds`: at a true instant, reads the
 * device's counter as its firmware would, asks the daemon where that reading lies on the host
 * timeline, and compares with the true instant.
 */
export function observeAlignment(s: TimeScenario, seconds: number, everyMs = 100): AlignmentStats {
  const stats: AlignmentStats = {
    errorsUs: [],
    boundsUs: [],
    covered: 0,
    skewErrorsPpm: [],
    naiveErrorsUs: [],
  };
  const mcu = s.board.mcus.get(s.target.name);
  const time = s.daemon.timeService;
  if (!mcu || !time) throw new Error('scenario without its device or time service');
  const sim = s.board.sim;
  const end = sim.now + seconds * 1e9;
  let naive: { offset: number } | null = null;
  while (sim.now < end) {
    sim.runFor(everyMs * NS_PER_MS);
    const nowUs = sim.now / 1000;
    const raw = mcu.clock.readUs(sim.now);
    const r = time.hostOf(s.target.address, raw, nowUs);
    if (!r) continue;
    const err = Math.abs(r.hostUs - nowUs);
    stats.errorsUs.push(err);
    stats.boundsUs.push(r.boundUs);
    if (err <= r.boundUs) stats.covered++;
    const view = time.snapshot(nowUs).find((v) => v.device === s.target.address);
    if (view?.skewPpm !== undefined)
      stats.skewErrorsPpm.push(Math.abs(view.skewPpm - mcu.clock.ratePpmAt(sim.now)));
    const est = time.estimatorOf(s.target.address);
    const last = est?.lastSample;
    if (est && last && view?.method === 'direct') {
      // Offset-only: the newest exchange's offset, no skew, no filtering.
      naive = { offset: last.offset };
      stats.naiveErrorsUs.push(Math.abs(est.unwrap(raw, nowUs) - naive.offset - nowUs));
    }
  }
  return stats;
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] as number;
}
