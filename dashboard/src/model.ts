/**
 * What the page derives from the API's answers, kept free of the DOM so that it is unit-tested
 * (dashboard/test/model.test.ts): row colours, health timeline segments, the bounded history of
 * polled values, and the formatting every view shares.
 */
import type { EventView, HealthView } from './types.js';

/** How a device row is coloured: red needs the operator now, amber is worth a look. */
export type RowSeverity = 'ok' | 'warn' | 'bad' | 'unknown';

const BAD_STATES = new Set(['down', 'unreachable', 'zombie']);
const WARN_STATES = new Set(['suspect', 'degraded', 'safe', 'bootloader', 'updating']);

export function rowSeverity(health: Pick<HealthView, 'state' | 'crashLoop'> | undefined): RowSeverity {
  if (!health) return 'unknown';
  // A crash loop is red even while the device answers between resets: it will not stay up.
  if (health.crashLoop || BAD_STATES.has(health.state)) return 'bad';
  if (WARN_STATES.has(health.state)) return 'warn';
  return health.state === 'up' ? 'ok' : 'unknown';
}

export function hexAddress(address: number): string {
  return `0x${address.toString(16).padStart(2, '0')}`;
}

/** One stretch of a device's health lane: a state from `fromMs` until `toMs`. */
export interface HealthSegment {
  readonly state: string;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Marks on a lane: resets and crash loops (instants, not states). */
export interface HealthMark {
  readonly atMs: number;
  readonly kind: 'reset' | 'crash_loop';
  readonly message: string;
}

export interface HealthLane {
  readonly device: number;
  readonly segments: HealthSegment[];
  readonly marks: HealthMark[];
}

function stateChange(e: EventView): { from: string; to: string } | undefined {
  const d = e.data as { from?: unknown; to?: unknown } | undefined;
  if (e.kind !== 'health.state' || typeof d?.to !== 'string') return undefined;
  return { from: typeof d.from === 'string' ? d.from : 'unknown', to: d.to };
}

/**
 * The health timeline from `health.*` events between `sinceMs` and `nowMs`: per device, the states it
 * went through (the state before its first change in the window is that change's `from`; a device with
 * no change keeps its current state over the whole window) and its resets.
 */
export function healthLanes(
  events: readonly EventView[],
  current: readonly HealthView[],
  sinceMs: number,
  nowMs: number,
): HealthLane[] {
  const sorted = events
    .filter((e) => e.device !== undefined && e.kind.startsWith('health.') && e.atMs <= nowMs)
    .sort((a, b) => a.atMs - b.atMs || a.id - b.id);
  const devices = new Set<number>(current.map((h) => h.address));
  for (const e of sorted) devices.add(e.device!);
  const lanes: HealthLane[] = [];
  for (const device of [...devices].sort((a, b) => a - b)) {
    const mine = sorted.filter((e) => e.device === device);
    const segments: HealthSegment[] = [];
    const marks: HealthMark[] = [];
    let state: string | undefined;
    let from = sinceMs;
    for (const e of mine) {
      if (e.kind === 'health.reset' || e.kind === 'health.crash_loop') {
        if (e.atMs >= sinceMs)
          marks.push({
            atMs: e.atMs,
            kind: e.kind === 'health.reset' ? 'reset' : 'crash_loop',
            message: e.message,
          });
        continue;
      }
      const change = stateChange(e);
      if (!change) continue;
      state ??= change.from;
      if (e.atMs > sinceMs) {
        if (e.atMs > from) segments.push({ state, fromMs: from, toMs: e.atMs });
        from = e.atMs;
      }
      state = change.to;
    }
    state ??= current.find((h) => h.address === device)?.state ?? 'unknown';
    if (nowMs > from) segments.push({ state, fromMs: from, toMs: nowMs });
    lanes.push({ device, segments, marks });
  }
  return lanes;
}

/** A bounded history of numbers sampled over time (x in seconds), oldest first. */
export class Series {
  readonly x: number[] = [];
  readonly y: (number | null)[] = [];
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('Series capacity must be ≥ 1');
  }
  push(x: number, y: number | null): void {
    // Polls can answer out of order; a sample older than the newest is dropped, not inserted.
    const last = this.x[this.x.length - 1];
    if (last !== undefined && x <= last) return;
    this.x.push(x);
    this.y.push(y);
    if (this.x.length > this.capacity) {
      this.x.shift();
      this.y.shift();
    }
  }
  get length(): number {
    return this.x.length;
  }
}

/** Update progress as a fraction 0–1 of the image the device has acknowledged. */
export function updateFraction(u: { size: number; acked: number; phase: string }): number {
  if (u.phase === 'done') return 1;
  if (u.size <= 0) return 0;
  return Math.min(1, Math.max(0, u.acked / u.size));
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatUs(us: number): string {
  const a = Math.abs(us);
  if (a < 1000) return `${us.toFixed(0)} µs`;
  if (a < 1_000_000) return `${(us / 1000).toFixed(2)} ms`;
  return `${(us / 1_000_000).toFixed(3)} s`;
}
