/**
 * The host's monotonic clock in µs. One clock for everything that stamps: the transports' receive
 * and send stamps and the daemon's runtime must agree, or a time-sync exchange's t1/t4 and the
 * estimator's "now" would live on different timelines.
 */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
