export { DOWN_AFTER, IntervalEstimator, PROBES_PER_WINDOW, SUSPECT_MAX, SUSPECT_MIN } from './interval.js';
export { HealthMonitor } from './monitor.js';
export * from './register-health.js';
export type {
  DeviceSnapshot,
  HealthEvent,
  HealthInput,
  HealthMonitorConfig,
  HealthOutput,
  HealthState,
  HeartbeatBody,
  StateEvidence,
} from './types.js';
