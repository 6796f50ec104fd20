import { seededRandom } from './random.js';

/**
 * Where the daemon is killed: a kill point names a place in a campaign's timeline (which device of
 * the plan, which phase of its update, how far into the transfer) or, for kills in quick succession,
 * a delay after the previous restart. Everything comes from the seed.
 */
export const UPDATE_PHASES = [
  'probe',
  'begin',
  'transfer',
  'verify',
  'activate',
  'boot_wait',
  'trial',
  'confirm',
  // After the device's update.done: the campaign moves on to the next device (or finishes).
  'between',
] as const;
export type TargetPhase = (typeof UPDATE_PHASES)[number];

export type KillPoint =
  | {
      readonly at: 'phase';
      /** Index in the campaign's plan order (nodes first, the gateway last). */
      readonly item: number;
      readonly phase: TargetPhase;
      /** For 'transfer': the fraction of the image acknowledged. */
      readonly fraction: number;
      /** Waited after the phase was seen, to land anywhere in it rather than at its start. */
      readonly delayMs: number;
    }
  | {
      /** Kill again this long after the restarted daemon's API answered (before or just after it resumes). */
      readonly at: 'restart';
      readonly delayMs: number;
    };

/** Position of a phase kill point in a campaign's timeline, for ordering and "reached or passed". */
export function position(item: number, phase: TargetPhase, fraction = 0): number {
  return item * 100 + UPDATE_PHASES.indexOf(phase) * 10 + fraction * 9.99;
}

/**
 * `kills` kill points in rounds (one campaign each) of about `perRound` phase kills, sorted along the
 * campaign; about one in four is followed by a kill in quick succession after the restart.
 */
export function killPlan(seed: number, kills: number, items: number, perRound: number): KillPoint[][] {
  const rnd = seededRandom(seed);
  const rounds: KillPoint[][] = [];
  let left = kills;
  while (left > 0) {
    const phaseKills: Extract<KillPoint, { at: 'phase' }>[] = [];
    for (let i = 0; i < perRound && left - phaseKills.length > 0; i++) {
      const phase = UPDATE_PHASES[Math.floor(rnd() * UPDATE_PHASES.length)]!;
      phaseKills.push({
        at: 'phase',
        item: Math.floor(rnd() * items),
        phase,
        fraction: phase === 'transfer' ? 0.05 + rnd() * 0.9 : 0,
        // ACTIVATE and CONFIRM are one exchange each (a few ms): kill as soon as they are seen. The
        // longer phases get a delay, to land anywhere in them rather than at their start.
        delayMs: Math.floor(
          rnd() *
            ({ activate: 0, confirm: 0, transfer: 150, trial: 150, boot_wait: 150 }[phase as string] ?? 30),
        ),
      });
    }
    phaseKills.sort((a, b) => position(a.item, a.phase, a.fraction) - position(b.item, b.phase, b.fraction));
    const round: KillPoint[] = [];
    for (const k of phaseKills) {
      if (left === 0) break;
      round.push(k);
      left--;
      if (left > 0 && rnd() < 0.25) {
        round.push({ at: 'restart', delayMs: 200 + Math.floor(rnd() * 3300) });
        left--;
      }
    }
    rounds.push(round);
  }
  return rounds;
}

export function describeKill(k: KillPoint): string {
  if (k.at === 'restart') return `${k.delayMs} ms after a restart`;
  const pct = k.phase === 'transfer' ? ` at ${Math.round(k.fraction * 100)} %` : '';
  return `item ${k.item} ${k.phase}${pct} +${k.delayMs} ms`;
}
