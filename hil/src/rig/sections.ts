import type { PathSegment } from '@mcubus/host';
import type { RigReader } from './rig-reader.js';
import type { HealthSpec, ImageSource, SoakSpec, TimeSpec, UpdateSpec } from './types.js';

type Path = readonly PathSegment[];

/** Defaults sized for a real board: generous enough for a slow boot, strict where the daemon promises. */
export const DEFAULTS = {
  health: { maxUpS: 20, maxDownPeriods: 2.5 },
  time: { settleS: 60, watchS: 10, maxBoundUs: 1000 },
  update: { trialMs: 5000, powerCuts: 2, timeoutS: 600 },
  soak: { durationS: 3600, sampleEveryS: 10, maxPingLoss: 0.01 },
} as const;

function section(r: RigReader, value: unknown, path: Path, keys: readonly string[]) {
  return value === undefined ? {} : (r.map(value, path, keys) ?? {});
}

export function readHealth(r: RigReader, value: unknown, path: Path): HealthSpec {
  const m = section(r, value, path, ['maxUpS', 'maxDownPeriods']);
  const d = DEFAULTS.health;
  return {
    maxUpS: r.or(m, 'maxUpS', path, (v, p) => r.positive(v, p), d.maxUpS),
    maxDownPeriods: r.or(m, 'maxDownPeriods', path, (v, p) => r.positive(v, p), d.maxDownPeriods),
  };
}

export function readTime(r: RigReader, value: unknown, path: Path): TimeSpec {
  const m = section(r, value, path, ['settleS', 'watchS', 'maxBoundUs']);
  const d = DEFAULTS.time;
  return {
    settleS: r.or(m, 'settleS', path, (v, p) => r.positive(v, p), d.settleS),
    watchS: r.or(m, 'watchS', path, (v, p) => r.positive(v, p), d.watchS),
    maxBoundUs: r.or(m, 'maxBoundUs', path, (v, p) => r.positive(v, p), d.maxBoundUs),
  };
}

export function readSoak(r: RigReader, value: unknown, path: Path): SoakSpec {
  const m = section(r, value, path, ['durationS', 'sampleEveryS', 'maxPingLoss']);
  const d = DEFAULTS.soak;
  const maxPingLoss = r.or(m, 'maxPingLoss', path, (v, p) => r.number(v, p), d.maxPingLoss);
  if (maxPingLoss < 0 || maxPingLoss > 1)
    r.report('range', [...path, 'maxPingLoss'], `must be between 0 and 1, got ${maxPingLoss}`);
  return {
    durationS: r.or(m, 'durationS', path, (v, p) => r.positive(v, p), d.durationS),
    sampleEveryS: r.or(m, 'sampleEveryS', path, (v, p) => r.positive(v, p), d.sampleEveryS),
    maxPingLoss,
  };
}

export function readUpdate(r: RigReader, value: unknown, path: Path): UpdateSpec {
  const m = section(r, value, path, ['devices', 'trialMs', 'powerCuts', 'images', 'timeoutS']);
  const d = DEFAULTS.update;
  const devices = r.maybe(m, 'devices', path, (v, p) => {
    const list = r.list(v, p);
    const out = list?.map((x, i) => r.address(x, [...p, i]));
    return out?.every((x) => x !== undefined) ? (out as number[]) : undefined;
  });
  return {
    devices: devices ?? null,
    trialMs: r.or(m, 'trialMs', path, (v, p) => r.int(v, p, { min: 0, max: 600_000 }), d.trialMs),
    powerCuts: r.or(m, 'powerCuts', path, (v, p) => r.int(v, p, { min: 0, max: 20 }), d.powerCuts),
    timeoutS: r.or(m, 'timeoutS', path, (v, p) => r.positive(v, p), d.timeoutS),
    images: r.maybe(m, 'images', path, (v, p) => readImages(r, v, p)) ?? null,
  };
}

const VERSION = /^\d+\.\d+\.\d+$/;

function readImages(r: RigReader, value: unknown, path: Path): ImageSource | undefined {
  const m = r.map(value, path, ['generate', 'files']);
  if (m === undefined) return undefined;
  if ('generate' in m === 'files' in m) {
    r.report(
      'value',
      path,
      'images are either generate: {…} or files: {HARDWARE-ID: {first, second, crashing}}',
    );
    return undefined;
  }
  if ('generate' in m) {
    const p = [...path, 'generate'];
    const g = r.map(m.generate, p, ['key', 'sizeKiB', 'crashVersion']);
    if (g === undefined) return undefined;
    const key = r.need(g, 'key', p, (v, q) => (v === 'simulator' ? 'simulator' : r.filePath(v, q)));
    const sizeKiB = r.or(g, 'sizeKiB', p, (v, q) => r.int(v, q, { min: 1, max: 4096 }), 32);
    const crashVersion = r.need(g, 'crashVersion', p, (v, q) =>
      r.pattern(v, q, VERSION, 'a version like 9.0.0'),
    );
    return key && crashVersion ? { kind: 'generate', key, sizeKiB, crashVersion } : undefined;
  }
  const p = [...path, 'files'];
  const files = r.map(m.files, p, Object.keys((m.files as object | null) ?? {}));
  if (files === undefined) return undefined;
  const byHardwareId = new Map<string, { first: string; second: string; crashing: string }>();
  for (const [hw, entry] of Object.entries(files)) {
    const q = [...p, hw];
    const e = r.map(entry, q, ['first', 'second', 'crashing']);
    if (e === undefined) continue;
    const first = r.need(e, 'first', q, (v, x) => r.filePath(v, x));
    const second = r.need(e, 'second', q, (v, x) => r.filePath(v, x));
    const crashing = r.need(e, 'crashing', q, (v, x) => r.filePath(v, x));
    if (first && second && crashing) byHardwareId.set(hw, { first, second, crashing });
  }
  return { kind: 'files', byHardwareId };
}
