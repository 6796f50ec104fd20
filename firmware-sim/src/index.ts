export * from './board/build.js';
export * from './board/factory.js';
export * from './board/reference.js';
export * from './board/routes.js';
export * from './board/spec.js';
export * from './boot/index.js';
export * from './carriage/can-carriage.js';
export * from './carriage/carriage.js';
export * from './carriage/modbus-slave-carriage.js';
export * from './carriage/uart-carriage.js';
export * from './flash/index.js';
export * from './kernel/index.js';
export * from './links/can-arbitration.js';
export * from './links/can-bitstream.js';
export * from './links/can-bus.js';
export type { CanNodeStats } from './links/can-controller.js';
export * from './links/can-crc.js';
export * from './links/can-format.js';
export * from './links/can-timing.js';
export * from './links/endpoints.js';
export * from './links/faults.js';
export * from './links/host-stamp-jitter.js';
export * from './links/rtu-line.js';
export type { RtuLineTiming, RtuViolationCounters } from './links/rtu-monitor.js';
export type { LineCounters, LineEndpointCounters } from './links/uart-counters.js';
export { LineEndpoint } from './links/uart-endpoint.js';
export * from './links/uart-format.js';
export * from './links/uart-link.js';
export type {
  LineEndpointOptions,
  LineReceiveOptions,
  OverrunListener,
  ReceiveListener,
} from './links/uart-receiver.js';
export * from './mcu/clock.js';
export * from './mcu/gateway.js';
export * from './mcu/mcu.js';
export * from './mcu/signals.js';
export * from './mcu/storage.js';
export { RealtimeDriver } from './process/realtime.js';
export { loadScenario } from './process/scenario-file.js';
export { SlcanAdapterSim } from './process/slcan-adapter.js';
export * from './update/index.js';
