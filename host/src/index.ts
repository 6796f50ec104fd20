export * from './api/daemon-api.js';
export { formatAddress, isLoopbackHost, parseAddress } from './api/http-util.js';
export { type ApiServerHandle, type ApiServerOptions, startApiServer } from './api/server.js';
export { formatSse, SseParser } from './api/sse.js';
export * from './capture/capture-hub.js';
export * from './capture/pcapng.js';
export * from './capture/pcapng-reader.js';
export { ApiClient, type ApiClientOptions, ApiResponseError, DaemonUnreachableError } from './cli/client.js';
export { type CliIo, DEFAULT_SOCKET, EXIT, runCli } from './cli/run.js';
export { EMBEDDED_DEFAULT_YAML, embeddedDefaultConfig } from './config/default.js';
export {
  type ConfigError,
  type ConfigErrorCode,
  formatConfigError,
  formatPath,
  type PathSegment,
} from './config/errors.js';
export { loadConfig, parseConfig } from './config/parse.js';
export { describe as describeYamlValue, type Locate, Reader } from './config/reader.js';
export type * from './config/types.js';
export { DEFAULT_STATE_DIR, validateConfig } from './config/validate.js';
export { parseYamlSource, type YamlSource } from './config/yaml-source.js';
export * from './daemon/daemon.js';
export * from './daemon/router.js';
export * from './daemon/runtime.js';
export * from './fleet/commands.js';
export * from './fleet/metric.js';
export * from './fleet/payload-codec.js';
export * from './fleet/snapshot.js';
export * from './fleet/sparkplug-node.js';
export { describeFrame, describeHeaderOnly } from './frame-format.js';
export * from './health/index.js';
export * from './link/core.js';
export * from './link/rtt.js';
export { createMetrics, type DaemonMetrics, type MetricsOptions } from './metrics/metrics.js';
export type { MetricsSource } from './metrics/source.js';
export { TrafficCounter } from './metrics/traffic.js';
export type { DeviceChange, DeviceRecord, DeviceRoute, UpsertResult } from './registry/device-record.js';
export type { UpsertOptions } from './registry/devices.js';
export { RegistryError, type RegistryErrorCode } from './registry/errors.js';
export type { JournalEntry, JournalEntryInput, JournalQuery, Severity } from './registry/journal.js';
export { SCHEMA_VERSION } from './registry/migrations.js';
export { DB_FILE_NAME, Registry, type RegistryOptions } from './registry/registry.js';
export * from './time/clock-estimator.js';
export * from './time/time-service.js';
export * from './trace/attribution.js';
export * from './trace/trace-record.js';
export * from './trace/tracer.js';
export * from './transports/can/can-media.js';
export * from './transports/can/can-transport.js';
export * from './transports/can/slcan-media.js';
export * from './transports/can/socketcan-media.js';
export * from './transports/capture-tap.js';
export * from './transports/modbus/master-core.js';
export * from './transports/modbus/modbus-transport.js';
export * from './transports/sim/sim-runtime.js';
export * from './transports/sim/sim-transports.js';
export * from './transports/transport.js';
export * from './transports/uart/serial-line.js';
export * from './transports/uart/uart-transport.js';
export * from './update/manager.js';
export * from './update/transfer.js';
