import { type BoardSpec, type BusSpec, type FaultRule, NS_PER_MS, Prng } from '@mcubus/firmware-sim';
import { gatewaysOf } from './boards.js';

/**
 * The fault schedule of one soak run: a pure function of (seed, hours, board). Every number here comes
 * from the seed, so a run is replayed exactly by its seed (the simulator draws its own randomness from
 * the same seed too).
 */
export type SoakEvent =
  | { readonly atMs: number; readonly kind: 'crash' | 'hang' | 'gateway_reboot'; readonly mcu: string }
  | { readonly atMs: number; readonly kind: 'power_cycle'; readonly mcu: string; readonly offMs: number }
  /** Arms a power cut halfway through the MCU's `op`-th next flash operation; power returns after offMs. */
  | {
      readonly atMs: number;
      readonly kind: 'flash_power_cut';
      readonly mcu: string;
      readonly op: number;
      readonly offMs: number;
    }
  | { readonly atMs: number; readonly kind: 'daemon_restart' }
  /** A campaign updating every MCU to application version 1.`minor`.0. */
  | { readonly atMs: number; readonly kind: 'campaign'; readonly minor: number }
  /** The MCU was powered off long enough that the daemon must not call it up. */
  | { readonly atMs: number; readonly kind: 'expect_down'; readonly mcu: string };

/** A window in which one bus loses (and corrupts, duplicates, reorders) many of its frames. */
export interface LinkEpisode {
  readonly bus: string;
  readonly fromMs: number;
  readonly untilMs: number;
  readonly drop: number;
}

export interface SoakPlan {
  readonly seed: number;
  readonly hours: number;
  /** The board with its buses' fault rules filled in. */
  readonly spec: BoardSpec;
  readonly events: readonly SoakEvent[];
  readonly episodes: readonly LinkEpisode[];
  readonly durationMs: number;
  /** From here on nothing is injected: the end-state invariants are checked after it. */
  readonly quietFromMs: number;
}

const MIN = 60_000;
/** Nothing in the first seconds: the daemon learns the board first. */
const WARMUP_MS = 10_000;
/** Faults stop this long before the end, so the board can settle before the final checks. */
export const QUIET_TAIL_MS = 3 * MIN;
/** No campaign starts this close to the end (it would still be running at the final checks). */
const CAMPAIGN_CUTOFF_MS = 6 * MIN;
const CAMPAIGN_EVERY_MS = 10 * MIN;
/** A powered-off MCU must be seen as down within this long (2.3 heartbeat periods plus margin). */
const DOWN_WITHIN_MS = 10_000;

/** Faults per simulated hour, by kind (at least one of each in any run that has room for it). */
const PER_HOUR = { crash: 6, hang: 6, power_cycle: 4, daemon_restart: 3, episode: 6 } as const;

export const LOSS_MAX = 0.2;
export const BIT_ERROR_MAX = 1e-4;

export function planSoak(seed: number, hours: number, board: BoardSpec): SoakPlan {
  const rng = new Prng(`soak:${seed}`);
  const durationMs = Math.round(hours * 3600_000);
  const quietFromMs = Math.max(WARMUP_MS, durationMs - QUIET_TAIL_MS);
  const mcus = board.mcus.map((m) => m.name);
  const gateways = gatewaysOf(board);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const at = (from = WARMUP_MS, until = quietFromMs) =>
    Math.round(rng.range(from, Math.max(from + 1, until)));
  const count = (perHour: number) => Math.max(1, Math.round(perHour * hours));
  const events: SoakEvent[] = [];

  for (let i = count(PER_HOUR.crash); i > 0; i--) events.push({ atMs: at(), kind: 'crash', mcu: pick(mcus) });
  for (let i = count(PER_HOUR.hang); i > 0; i--) events.push({ atMs: at(), kind: 'hang', mcu: pick(mcus) });
  for (let i = count(PER_HOUR.power_cycle); i > 0; i--) {
    const mcu = pick(mcus);
    const offMs = Math.round(rng.range(2_000, 40_000));
    const atMs = at(WARMUP_MS, quietFromMs - offMs);
    events.push({ atMs, kind: 'power_cycle', mcu, offMs });
    if (offMs > DOWN_WITHIN_MS + 1_000) events.push({ atMs: atMs + offMs - 1_000, kind: 'expect_down', mcu });
  }
  for (let i = count(PER_HOUR.daemon_restart); i > 0; i--)
    events.push({ atMs: at(), kind: 'daemon_restart' });

  // Campaigns, each with a gateway reboot and a power cut at a flash operation while it runs.
  let minor = 1;
  for (let t = 20_000; t <= Math.max(20_000, durationMs - CAMPAIGN_CUTOFF_MS); t += CAMPAIGN_EVERY_MS) {
    events.push({ atMs: t, kind: 'campaign', minor: minor++ });
    if (gateways.length > 0)
      events.push({
        atMs: t + Math.round(rng.range(3_000, 40_000)),
        kind: 'gateway_reboot',
        mcu: pick(gateways),
      });
    events.push({
      atMs: t + Math.round(rng.range(1_000, 30_000)),
      kind: 'flash_power_cut',
      mcu: pick(mcus),
      op: 1 + rng.int(60),
      offMs: Math.round(rng.range(200, 5_000)),
    });
  }

  const busNames = board.buses.map((b) => b.name);
  const episodes: LinkEpisode[] = [];
  for (let i = count(PER_HOUR.episode); i > 0; i--) {
    const fromMs = at();
    const untilMs = Math.min(quietFromMs, fromMs + Math.round(rng.range(20_000, 120_000)));
    episodes.push({ bus: pick(busNames), fromMs, untilMs, drop: rng.range(0.02, LOSS_MAX) });
  }

  const spec: BoardSpec = {
    ...board,
    buses: board.buses.map((b) => withFaults(b, rng.fork(b.name), episodes, quietFromMs)),
  };
  events.sort((a, b) => a.atMs - b.atMs);
  return { seed, hours, spec, events, episodes, durationMs, quietFromMs };
}

/**
 * A bus's impairments: a light background for the whole run (bit errors up to 1e-4 on lines, a little
 * loss and duplication everywhere, reordering on CAN) plus the heavy-loss episodes drawn for it.
 */
function withFaults(bus: BusSpec, rng: Prng, episodes: readonly LinkEpisode[], quietFromMs: number): BusSpec {
  const ms = (x: number) => x * NS_PER_MS;
  const background: FaultRule = {
    until: ms(quietFromMs),
    drop: rng.range(0, 0.01),
    duplicate: rng.range(0, 0.01),
    ...(bus.kind === 'can' ? { reorder: rng.range(0, 0.01), corrupt: rng.range(0, 0.005) } : {}),
  };
  const heavy: FaultRule[] = episodes
    .filter((e) => e.bus === bus.name)
    .map((e) => ({
      from: ms(e.fromMs),
      until: ms(e.untilMs),
      drop: e.drop,
      duplicate: e.drop / 10,
      ...(bus.kind === 'can' ? { reorder: e.drop / 4, corrupt: e.drop / 10 } : {}),
    }));
  const faults = [...(bus.faults ?? []), background, ...heavy];
  // A bit error rate applies for the whole run (a line property, not a rule with a time window), so
  // the quiet tail still sees it: the daemon must cope with it in steady state anyway.
  if (bus.kind === 'can') return { ...bus, faults };
  return { ...bus, faults, bitErrorRate: rng.range(0, BIT_ERROR_MAX) };
}
