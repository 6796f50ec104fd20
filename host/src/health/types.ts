/** Public shapes of the health monitor: what goes in, what comes out, how it is tuned. */
import type { BodyOf } from '@mcubus/protocol';

export type HeartbeatBody = BodyOf<'heartbeat'>;

/** Liveness states plus the overlays shown instead of `up` when the device is alive but not fine. */
export type HealthState =
  | 'unknown'
  | 'up'
  | 'suspect'
  | 'down'
  | 'unreachable'
  | 'bootloader'
  | 'updating'
  | 'safe'
  | 'degraded'
  | 'zombie';

export type HealthInput =
  | {
      readonly type: 'heartbeat';
      readonly device: number;
      readonly body: HeartbeatBody;
      readonly via: number | null;
    }
  | { readonly type: 'frame'; readonly device: number }
  | { readonly type: 'probe_result'; readonly device: number; readonly ok: boolean; readonly rttUs?: number }
  | { readonly type: 'request_result'; readonly device: number; readonly ok: boolean }
  | { readonly type: 'forget'; readonly device: number }
  /**
   * A device known from an earlier run (the registry) that this run has not heard yet: watched from
   * now, with `graceUs` before its first heartbeat is due, so one that stays silent is reported down
   * (or unreachable behind a down gateway) instead of never appearing.
   */
  | {
      readonly type: 'expect';
      readonly device: number;
      readonly via: number | null;
      readonly graceUs: number;
    }
  | { readonly type: 'bus_silent'; readonly bus: string; readonly devices: readonly number[] }
  | { readonly type: 'tick' };

export interface StateEvidence {
  readonly lastHeartbeatUs?: number;
  readonly silentForUs?: number;
  readonly probe?: { readonly ok: boolean; readonly attempts: number };
  readonly reason?: string;
}

export type HealthEvent =
  | {
      readonly kind: 'state';
      readonly device: number;
      readonly from: HealthState;
      readonly to: HealthState;
      readonly atUs: number;
      readonly evidence: StateEvidence;
    }
  | {
      readonly kind: 'reset';
      readonly device: number;
      readonly atUs: number;
      readonly reason: string;
      readonly resetCount: number;
    }
  | {
      readonly kind: 'crash_loop';
      readonly device: number;
      readonly atUs: number;
      readonly resets: number;
      readonly windowUs: number;
    }
  | {
      readonly kind: 'route_down';
      readonly gateway: number;
      readonly atUs: number;
      readonly devices: number[];
    }
  | { readonly kind: 'bus_down'; readonly bus: string; readonly atUs: number; readonly devices: number[] };

export interface HealthOutput {
  /** Device addresses to PING now; answer each with a `probe_result`. */
  readonly probes: number[];
  /** Call `handle({type:'tick'}, …)` at this time (µs) at the latest; absent when nothing is pending. */
  readonly wakeAt?: number;
  readonly events: HealthEvent[];
}

export interface DeviceSnapshot {
  readonly device: number;
  readonly state: HealthState;
  readonly via: number | null;
  readonly lastHeartbeatUs: number | null;
  readonly mode: number | null;
  readonly health: number | null;
  readonly resetCount: number | null;
  /** Resets seen by this monitor (not the device's persisted counter). */
  readonly resetsSeen: number;
  readonly crashLoop: boolean;
  /** Current estimate of the heartbeat interval (µs), null before the first heartbeat. */
  readonly expectedIntervalUs: number | null;
  readonly lastRttUs: number | null;
}

export interface HealthMonitorConfig {
  /** Period assumed when a heartbeat does not announce `periodMs` (default 1 s). */
  readonly defaultPeriodUs?: number;
  /** Spacing of probes while suspect (default 50 ms); see `monitor.ts` for the cap on short periods. */
  readonly probeIntervalUs?: number;
  /** Failed ordinary requests in a row, with heartbeats still arriving, that make a zombie (default 3). */
  readonly zombieFailures?: number;
  /** Resets within `crashLoopWindowUs` that make a crash loop (default 3 within 60 s). */
  readonly crashLoopResets?: number;
  readonly crashLoopWindowUs?: number;
}
