import { Prng } from '@mcubus/firmware-sim';
import { daemonOnBoard, healthBoard, runSim } from '../support/health-scenarios.js';
import { type BenchResult, result } from './harness.js';

const PERIOD_MS = 1000;

/** Detection latency: a random node dies at a random moment; time until the daemon says "down". */
async function detectLatency(trials: number): Promise<{ p99: number; max: number; missed: number }> {
  const rng = new Prng('health-latency');
  const latencies: number[] = [];
  let missed = 0;
  for (let trial = 0; trial < trials; trial++) {
    const victim = 1 + rng.int(7); // n0…n6: the gateway's own death is a route fault, not "down"
    const deathMs = 4000 + rng.float() * 2000;
    const spec = healthBoard([{ atMs: deathMs, kind: 'power_off', mcu: `n${victim - 1}` }]);
    const { board, daemon, close } = await daemonOnBoard(spec, 1000 + trial);
    await runSim(board, 10);
    const address = 0x20 + victim;
    const down = daemon
      .events({ device: address, limit: 100 })
      .find((e) => e.kind === 'health.state' && (e.data as { to: string }).to === 'down');
    if (down) latencies.push((down.atMs - daemon.status().startedAtMs - deathMs) / PERIOD_MS);
    else missed++;
    await close();
  }
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.min(latencies.length - 1, Math.ceil(0.99 * latencies.length) - 1)] ?? Number.NaN;
  return { p99, max: latencies.at(-1) ?? Number.NaN, missed };
}

/** False alarms: nobody dies; 10 % frame loss and 200 ms host stalls; count "down" while alive. */
async function falsePositives(
  hours: number,
): Promise<{ downs: number; unreachable: number; nodeDays: number }> {
  const { board, daemon, close } = await daemonOnBoard(healthBoard(), 7, {
    stallMs: 200,
    stallEveryMs: 10_000,
  });
  await runSim(board, hours * 3600, 200);
  const events = daemon.events({ limit: 100_000 }).filter((e) => e.kind === 'health.state');
  const to = (t: string) => events.filter((e) => (e.data as { to: string }).to === t).length;
  await close();
  return { downs: to('down'), unreachable: to('unreachable'), nodeDays: (8 * hours) / 24 };
}

export async function run(): Promise<BenchResult[]> {
  const trials = Number(process.env.MCUBUS_BENCH_HEALTH_TRIALS ?? 200);
  const hours = Number(process.env.MCUBUS_BENCH_HEALTH_HOURS ?? 24);
  const latency = await detectLatency(trials);
  if (latency.missed > 0) throw new Error(`${latency.missed} of ${trials} deaths were never detected`);
  const fp = await falsePositives(hours);
  return [
    result(
      'health.detect_latency_p99',
      latency.p99,
      'heartbeat periods',
      3,
      `${trials} deaths of nodes behind a gateway, 10 % frame loss on the host link; max ${latency.max.toFixed(2)}; ceiling = the Cyphal/DroneCAN 3-period rule (target ≤ 2.5)`,
    ),
    result(
      'health.false_positives_per_node_day',
      fp.downs / fp.nodeDays,
      'downs per node-day',
      1,
      `8 nodes × ${hours} h simulated, 10 % frame loss, 200 ms host stalls every ~10 s: ${fp.downs} false downs, ${fp.unreachable} unreachable transitions; target 0 (ceiling 1 only keeps the ratio finite)`,
    ),
  ];
}
