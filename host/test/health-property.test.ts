import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../src/health/index.js';
import type { HealthInput } from '../src/health/types.js';

const DEV = 0x21;
const LOSS = 0.1;

/** mulberry32: a tiny seeded PRNG, so every run of this property test sees the same "randomness". */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Outcome {
  /** Time of the first `down` event, if any. */
  readonly downAtUs: number | null;
  /** Last heartbeat the device sent (delivered or not) before dying. */
  readonly lastSentUs: number;
  /** Times the device was suspected, and probes sent: proof that the loss really was exercised. */
  readonly suspicions: number;
  readonly probes: number;
}

/**
 * One device on a lossy link: heartbeats every period with ±2 % jitter, 10 % of them lost; probes
 * answered after `rttUs` unless the answer is lost (10 %) or the device is dead.
 */
function simulate(periodUs: number, endUs: number, dieAtUs: number, random: () => number): Outcome {
  const mon = new HealthMonitor();
  const rttUs = Math.min(2000, periodUs / 100);
  const answers: number[] = []; // arrival times of probe answers, ascending (constant rtt)
  let k = 0;
  let nextHb = 0;
  let lastSentUs = 0;
  let wake: number | undefined;
  let suspicions = 0;
  let probes = 0;
  for (;;) {
    const hbDue = nextHb < dieAtUs ? nextHb : Number.POSITIVE_INFINITY;
    const now = Math.min(hbDue, answers[0] ?? Number.POSITIVE_INFINITY, wake ?? Number.POSITIVE_INFINITY);
    if (now > endUs) return { downAtUs: null, lastSentUs, suspicions, probes };
    let input: HealthInput;
    if (now === hbDue) {
      lastSentUs = now;
      k++;
      nextHb = k * periodUs + (random() - 0.5) * 0.04 * periodUs;
      if (random() < LOSS) {
        input = { type: 'tick' };
      } else {
        const body = {
          uptimeMs: now / 1000,
          mode: 1,
          health: 0,
          resetReason: 1,
          resetCount: 0,
          periodMs: periodUs / 1000,
        };
        input = { type: 'heartbeat', device: DEV, body, via: null };
      }
    } else if (now === answers[0]) {
      answers.shift();
      input = { type: 'probe_result', device: DEV, ok: true, rttUs };
    } else {
      input = { type: 'tick' };
    }
    const out = mon.handle(input, now);
    const down = out.events.find((e) => e.kind === 'state' && e.to === 'down');
    suspicions += out.events.filter((e) => e.kind === 'state' && e.to === 'suspect').length;
    probes += out.probes.length;
    if (down !== undefined) return { downAtUs: now, lastSentUs, suspicions, probes };
    for (const _ of out.probes) if (now < dieAtUs && random() >= LOSS) answers.push(now + rttUs);
    wake = out.wakeAt;
  }
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(0.99 * sorted.length) - 1]!;
}

describe('health detector on a 10 %-lossy link (property)', () => {
  for (const periodUs of [1_000_000, 100_000]) {
    it(`raises no false down over 100 000 periods of ${periodUs / 1000} ms`, () => {
      const end = 100_000 * periodUs;
      const out = simulate(periodUs, end, Number.POSITIVE_INFINITY, prng(periodUs));
      console.info(
        `period ${periodUs / 1000} ms: false downs = ${out.downAtUs === null ? 0 : 1}, ` +
          `suspicions = ${out.suspicions}, probes = ${out.probes}`,
      );
      expect(out.downAtUs).toBeNull();
      // ~10 % of heartbeats lost → ~10 000 suspicions, each cleared by probes or the next heartbeat.
      expect(out.suspicions).toBeGreaterThan(8000);
      expect(out.probes).toBeGreaterThan(out.suspicions);
    });

    it(`detects 200 deaths of a ${periodUs / 1000} ms device with p99 latency ≤ 2.5 periods`, () => {
      const random = prng(7 + periodUs);
      const latencies: number[] = [];
      for (let i = 0; i < 200; i++) {
        const dieAt = (20 + random() * 20) * periodUs;
        const out = simulate(periodUs, dieAt + 20 * periodUs, dieAt, random);
        expect(out.downAtUs).not.toBeNull();
        // Not before the death: that would be a false down.
        expect(out.downAtUs!).toBeGreaterThanOrEqual(dieAt);
        latencies.push((out.downAtUs! - out.lastSentUs) / periodUs);
      }
      const worst = Math.max(...latencies);
      console.info(
        `period ${periodUs / 1000} ms: p99 latency ${p99(latencies).toFixed(3)} periods, max ${worst.toFixed(3)}`,
      );
      expect(p99(latencies)).toBeLessThanOrEqual(2.5);
      // And never earlier than the detector's floor: 1.5 periods is the earliest suspicion + probing.
      expect(Math.min(...latencies)).toBeGreaterThan(1);
    });
  }
});
