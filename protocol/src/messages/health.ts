import { any, opt, req, struct, u8, u32, u64, uint, uintMap } from '../schema/index.js';

/** HEARTBEAT (0x03): periodic liveness and health, from the application and the bootloader alike. */
export const heartbeat = struct('heartbeat', {
  uptimeMs: req(1, u64, 'Milliseconds since the last reset; going backwards reveals a reset.'),
  mode: req(2, u8, 'DeviceMode: 0 bootloader, 1 app, 2 updating, 3 safe.'),
  health: req(3, u8, 'HealthLevel: 0 nominal, 1 advisory, 2 caution, 3 warning.'),
  resetReason: req(4, u8, 'ResetReason of the last reset.'),
  resetCount: req(5, u32, 'Resets since the counter was last cleared (persisted by the device).'),
  counters: opt(6, uintMap(u64), 'ErrorCounter id → count since reset.'),
  vendorStatus: opt(7, any, 'Application-defined status, any CBOR value.'),
  periodMs: opt(8, u32, 'Current heartbeat period; the host expects the next one within it.'),
  deviceTime: opt(9, u64, 'Device clock (µs counter) when the heartbeat was built.'),
});

/** PING (0x04) / PONG (0x05): a cheap probe of a silent device through its route. */
export const ping = struct('ping', { nonce: opt(1, uint(0xffffffff), 'Echoed in PONG.') });
export const pong = struct('pong', { nonce: opt(1, uint(0xffffffff), 'The nonce of the PING.') });

/** RESET (0x20): reboot into a target after an optional delay. Answered with OK first. */
export const reset = struct('reset', {
  target: opt(1, u8, 'ResetTarget: 0 app (default), 1 stay in bootloader, 2 safe mode.'),
  delayMs: opt(2, u32, 'Delay before resetting, so the OK can leave first (default 10).'),
});
