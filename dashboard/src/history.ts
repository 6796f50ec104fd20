/**
 * Histories the page builds from polled answers: the API keeps only the current clock mapping, so the
 * page samples it every second; telemetry is read incrementally (`since=` the last id).
 */
import { Series } from './model.js';
import type { TelemetryView, TimeView } from './types.js';
import type { ClockHistory } from './views/clock-plots.js';
import type { TelemetryHistory } from './views/telemetry-plot.js';

/** 10 minutes at one sample a second. */
const CLOCK_POINTS = 600;
const TELEMETRY_POINTS = 1000;
/** A pause this long (s) in a channel (a reboot, a lost link) is drawn as a gap, not a line across. */
export const TELEMETRY_GAP_S = 1;

export class Histories {
  readonly #clocks = new Map<number, ClockHistory & { firstOffset: number; skewPpm?: number }>();
  readonly #telemetry = new Map<string, TelemetryHistory>();
  lastTelemetryId: number | undefined;

  addTime(views: readonly TimeView[], nowMs: number): void {
    for (const v of views) {
      if (v.offsetUs === undefined) continue;
      let c = this.#clocks.get(v.address);
      if (!c) {
        c = {
          address: v.address,
          ...(v.name !== undefined ? { name: v.name } : {}),
          firstOffset: v.offsetUs,
          offsetDelta: new Series(CLOCK_POINTS),
          bound: new Series(CLOCK_POINTS),
        };
        this.#clocks.set(v.address, c);
      }
      if (v.skewPpm !== undefined) c.skewPpm = v.skewPpm;
      c.offsetDelta.push(nowMs / 1000, v.offsetUs - c.firstOffset);
      c.bound.push(nowMs / 1000, v.boundUs ?? null);
    }
  }

  /** Samples oldest first (a `since=` answer) or newest first (the first read): both are sorted here. */
  addTelemetry(samples: readonly TelemetryView[]): void {
    for (const s of [...samples].sort((a, b) => a.id - b.id)) {
      this.lastTelemetryId = Math.max(this.lastTelemetryId ?? 0, s.id);
      if (s.alignedUs === undefined) continue;
      const key = `${s.device}/${s.channel}`;
      let h = this.#telemetry.get(key);
      if (!h) {
        h = { device: s.device, channel: s.channel, series: new Series(TELEMETRY_POINTS) };
        this.#telemetry.set(key, h);
      }
      const x = s.alignedUs / 1e6;
      const last = h.series.x[h.series.length - 1];
      if (last !== undefined && x - last > TELEMETRY_GAP_S) h.series.push(last + TELEMETRY_GAP_S / 2, null);
      h.series.push(x, s.value);
    }
  }

  clocks(): ClockHistory[] {
    return [...this.#clocks.values()].sort((a, b) => a.address - b.address);
  }

  telemetry(): TelemetryHistory[] {
    return [...this.#telemetry.values()].sort((a, b) => a.device - b.device || a.channel - b.channel);
  }
}
