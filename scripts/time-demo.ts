// The time-alignment demonstration of docs/time.md: two MCUs behind a gateway sample the same physical
// signal (the supply current, a 1 Hz sine) with their own drifting clocks; the daemon stores their
// telemetry. The figure plots the same samples twice: at the host time their frames arrived (what a
// host without time sync has), and at the host time mcubus aligned them to. Deterministic (seed 5).
//
// Usage: npm run time-demo   (writes docs/time-alignment.svg and prints the figures quoted in docs)
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBoard, HOST_STAMP_PROFILES, NS_PER_S, referenceBoard, signals } from '@mcubus/firmware-sim';
import { simRuntime, simTransports } from '@mcubus/host';
import { daemonOn, stateDirs } from '../test/support/sim-daemon.js';

const EPOCH_MS = Date.UTC(2026, 0, 1);
const SEED = 5;
/** Seconds of the run shown: after a minute of warm-up. */
const WINDOW = { fromS: 90, toS: 92 };

export interface TimeDemo {
  readonly svg: string;
  readonly summary: {
    readonly rmsArrivalMa: number;
    readonly rmsFirstOffsetMa: number;
    readonly rmsAlignedMa: number;
    readonly maxBoundUs: number;
    readonly samples: number;
  };
}

interface Point {
  readonly device: number;
  /** Seconds of simulated time. */
  readonly arrivalS: number;
  /** The device timestamp plus one offset taken from the device's first telemetry frame. */
  readonly firstOffsetS: number;
  readonly alignedS: number;
  readonly value: number;
}

export async function makeTimeDemo(): Promise<TimeDemo> {
  const spec = referenceBoard();
  // node-b measures the very same supply current as node-a (the reference board gives it the battery).
  const board = buildBoard(
    {
      ...spec,
      mcus: spec.mcus.map((m) =>
        m.name === 'node-b' && m.telemetry
          ? {
              ...m,
              telemetry: { ...m.telemetry, channels: [{ channel: 1, signal: 'supplyCurrent_mA', noise: 2 }] },
            }
          : m,
      ),
    },
    SEED,
  );
  const dirs = stateDirs('mcubus-time-demo-');
  try {
    const runtime = simRuntime(board.sim, EPOCH_MS);
    const { daemon } = daemonOn(board, dirs.make(), {
      transports: simTransports(board, runtime, undefined, {
        stamps: { uart0: HOST_STAMP_PROFILES.serial, rs485: HOST_STAMP_PROFILES.serial },
      }),
    });
    await daemon.start();
    board.sim.runFor((WINDOW.toS + 1) * NS_PER_S);
    const rows = daemon.telemetry({ limit: 100_000 });
    await daemon.stop();
    // The naive fix: each device's clock read once, at its first telemetry frame (arrival − the
    // newest sample's device time), and trusted from then on.
    const firstOffset = new Map<number, number>();
    for (const r of [...rows].sort((a, b) => a.id - b.id)) {
      if (r.device !== 0x21 && r.device !== 0x22) continue;
      const sameFrame = rows.filter((x) => x.device === r.device && x.receivedMs === r.receivedMs);
      const newest = Math.max(...sameFrame.map((x) => x.deviceUs));
      if (!firstOffset.has(r.device)) firstOffset.set(r.device, (r.receivedMs - EPOCH_MS) * 1000 - newest);
    }
    const points: Point[] = rows
      .filter((r) => (r.device === 0x21 || r.device === 0x22) && r.alignedUs !== undefined)
      .map((r) => ({
        device: r.device,
        arrivalS: (r.receivedMs - EPOCH_MS) / 1000,
        firstOffsetS: (r.deviceUs + (firstOffset.get(r.device) ?? 0)) / 1e6,
        alignedS: ((r.alignedUs as number) - EPOCH_MS * 1000) / 1e6,
        value: r.value,
      }))
      .filter((p) => p.alignedS >= WINDOW.fromS && p.alignedS < WINDOW.toS);
    const truth = (s: number) => signals.supplyCurrent_mA(s * 1e9);
    const rms = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);
    const inWindow = rows.filter(
      (r) => r.alignedUs !== undefined && (r.device === 0x21 || r.device === 0x22),
    );
    return {
      svg: plot(points, truth),
      summary: {
        rmsArrivalMa: round(rms(points.map((p) => p.value - truth(p.arrivalS))), 1),
        rmsFirstOffsetMa: round(rms(points.map((p) => p.value - truth(p.firstOffsetS))), 1),
        rmsAlignedMa: round(rms(points.map((p) => p.value - truth(p.alignedS))), 2),
        maxBoundUs: round(Math.max(...inWindow.slice(0, 40).map((r) => r.boundUs ?? 0)), 1),
        samples: points.length,
      },
    };
  } finally {
    dirs.cleanup();
  }
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

const W = 860;
const PANEL_H = 230;
const M = { left: 64, right: 20, top: 34, bottom: 36 };
const COLORS: Record<number, string> = { 33: '#1f77b4', 34: '#d62728' };

/** Three panels sharing the time axis: samples at arrival time, by a one-time offset, and aligned. */
function plot(points: readonly Point[], truth: (s: number) => number): string {
  const x = (s: number) =>
    M.left + ((s - WINDOW.fromS) / (WINDOW.toS - WINDOW.fromS)) * (W - M.left - M.right);
  const y0 = (top: number) => (mA: number) =>
    top + M.top + (1 - (mA - 300) / 2400) * (PANEL_H - M.top - M.bottom);
  const panel = (index: number, title: string, at: (p: Point) => number) => {
    const top = index * PANEL_H;
    const y = y0(top);
    const curve: string[] = [];
    for (let s = WINDOW.fromS; s <= WINDOW.toS; s += 0.005)
      curve.push(`${x(s).toFixed(1)},${y(truth(s)).toFixed(1)}`);
    const ticks: string[] = [];
    for (let s = WINDOW.fromS; s <= WINDOW.toS + 1e-9; s += 0.25) {
      ticks.push(
        `<line x1="${x(s).toFixed(1)}" y1="${top + PANEL_H - M.bottom}" x2="${x(s).toFixed(1)}" y2="${top + PANEL_H - M.bottom + 5}" stroke="#444"/>` +
          `<text x="${x(s).toFixed(1)}" y="${top + PANEL_H - M.bottom + 18}" text-anchor="middle">${s.toFixed(2)} s</text>`,
      );
    }
    for (const mA of [500, 1500, 2500]) {
      ticks.push(
        `<text x="${M.left - 8}" y="${(y(mA) + 4).toFixed(1)}" text-anchor="end">${mA}</text>` +
          `<line x1="${M.left}" y1="${y(mA).toFixed(1)}" x2="${W - M.right}" y2="${y(mA).toFixed(1)}" stroke="#eee"/>`,
      );
    }
    const dots = points
      .filter((p) => at(p) >= WINDOW.fromS && at(p) <= WINDOW.toS)
      .map(
        (p) =>
          `<circle cx="${x(at(p)).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3.2" fill="${COLORS[p.device]}" fill-opacity="0.85"/>`,
      );
    return [
      `<text x="${M.left}" y="${top + 22}" font-weight="bold">${title}</text>`,
      `<rect x="${M.left}" y="${top + M.top}" width="${W - M.left - M.right}" height="${PANEL_H - M.top - M.bottom}" fill="none" stroke="#888"/>`,
      ...ticks,
      `<polyline points="${curve.join(' ')}" fill="none" stroke="#999" stroke-width="1.2" stroke-dasharray="4 3"/>`,
      ...dots,
    ].join('\n');
  };
  const legendY = 3 * PANEL_H + 14;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${3 * PANEL_H + 28}" font-family="sans-serif" font-size="12">
<title>Two MCUs sampling the same 1 Hz signal: placed by arrival time, by a one-time offset, and aligned by mcubus</title>
<rect width="100%" height="100%" fill="white"/>
${panel(0, 'Placed at the host time each telemetry frame arrived (no time sync)', (p) => p.arrivalS)}
${panel(1, 'Device timestamps + one offset taken at each device’s first frame (no skew, no tracking)', (p) => p.firstOffsetS)}
${panel(2, 'Placed at the host time mcubus aligned each device timestamp to', (p) => p.alignedS)}
<circle cx="${M.left + 6}" cy="${legendY}" r="4" fill="${COLORS[0x21]}"/><text x="${M.left + 16}" y="${legendY + 4}">node-a (0x21), clock −87 ppm</text>
<circle cx="${M.left + 226}" cy="${legendY}" r="4" fill="${COLORS[0x22]}"/><text x="${M.left + 236}" y="${legendY + 4}">node-b (0x22), clock +100 ppm</text>
<line x1="${M.left + 446}" y1="${legendY}" x2="${M.left + 476}" y2="${legendY}" stroke="#999" stroke-dasharray="4 3"/><text x="${M.left + 482}" y="${legendY + 4}">true supply current (mA)</text>
</svg>
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const demo = await makeTimeDemo();
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'time-alignment.svg');
  writeFileSync(out, demo.svg);
  console.log(`wrote ${out}`);
  console.log(JSON.stringify(demo.summary, null, 2));
}
