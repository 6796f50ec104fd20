/** What an alive device is shown as: `up`, or the overlay that explains why it is not simply fine. */
import { DeviceMode, HealthLevel } from '@mcubus/protocol';
import type { HealthState, HeartbeatBody } from './types.js';

export interface Shown {
  readonly state: HealthState;
  readonly reason: string;
}

/**
 * Precedence, most actionable first: a zombie answers nothing, so it outranks the mode it claims;
 * the modes explain a device that is alive but not running its application normally; `degraded`
 * is the application itself reporting trouble.
 */
export function overlay(hb: HeartbeatBody | null, failedRequests: number, zombieAfter: number): Shown {
  if (failedRequests >= zombieAfter) {
    return { state: 'zombie', reason: `${failedRequests} requests failed in a row while heartbeats arrive` };
  }
  if (hb === null) return { state: 'up', reason: 'alive' };
  if (hb.mode === DeviceMode.safe) return { state: 'safe', reason: 'mode safe' };
  if (hb.mode === DeviceMode.bootloader) return { state: 'bootloader', reason: 'mode bootloader' };
  if (hb.mode === DeviceMode.updating) return { state: 'updating', reason: 'mode updating' };
  if (hb.health >= HealthLevel.caution) return { state: 'degraded', reason: `health level ${hb.health}` };
  return { state: 'up', reason: 'heartbeat' };
}
