/** Per-device bookkeeping of the health monitor (mutable, owned by one HealthMonitor). */
import { IntervalEstimator } from './interval.js';
import type { CrashLoopTracker } from './resets.js';
import type { HealthState, HeartbeatBody } from './types.js';

/** The failure detector's own view; overlays are derived from it only when it says `up`. */
export type Liveness = 'unknown' | 'up' | 'suspect' | 'down' | 'unreachable';

export interface DeviceRecord {
  readonly device: number;
  via: number | null;
  liveness: Liveness;
  /** The state last reported in an event, so only changes are reported. */
  shown: HealthState;
  lastHb: HeartbeatBody | null;
  lastHeartbeatUs: number | null;
  /** Latest proof of life of any kind (heartbeat, frame, probe answer). */
  lastSeenUs: number | null;
  /**
   * Time of the latest heartbeat the device is believed to have sent: the last one received, moved
   * forward to the latest heartbeat slot before any later proof of life. Deadlines count from here,
   * so a probe answer does not push detection of a death that follows it past 2.3 periods.
   */
  anchorUs: number;
  periodUs: number;
  readonly intervals: IntervalEstimator;
  probeAttempts: number;
  nextProbeUs: number;
  failedRequests: number;
  resetsSeen: number;
  readonly crashLoop: CrashLoopTracker;
  lastRttUs: number | null;
  /** The gateway whose loss made this device unreachable (null: a silent bus, or not unreachable). */
  unreachableVia: number | null;
  /** Watched before any heartbeat (HealthInput 'expect'): its deadlines count from anchorUs. */
  expected: boolean;
}

export function newDevice(device: number, periodUs: number, crashLoop: CrashLoopTracker): DeviceRecord {
  return {
    device,
    via: null,
    liveness: 'unknown',
    shown: 'unknown',
    lastHb: null,
    lastHeartbeatUs: null,
    lastSeenUs: null,
    anchorUs: 0,
    periodUs,
    intervals: new IntervalEstimator(),
    probeAttempts: 0,
    nextProbeUs: 0,
    failedRequests: 0,
    resetsSeen: 0,
    crashLoop,
    lastRttUs: null,
    unreachableVia: null,
    expected: false,
  };
}
