import type { FleetConfig } from './fleet.js';

/**
 * The daemon's configuration after validation: every default applied, every reference checked. Code
 * that consumes it never re-validates or re-applies defaults.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** Serial character format shorthand: data bits, parity letter, stop bits ('8N1', '8E1', …). */
export type SerialFrame = `${7 | 8}${'N' | 'E' | 'O'}${1 | 2}`;

export interface TcpListenerConfig {
  readonly host: string;
  readonly port: number;
  readonly token?: string;
}

export interface ApiConfig {
  /** Unix socket path for local clients (the CLI). */
  readonly socket: string;
  /** File mode of the socket, e.g. 0o660. */
  readonly socketMode: number;
  readonly tcp?: TcpListenerConfig;
}

export interface UartBusConfig {
  readonly type: 'uart';
  readonly name: string;
  readonly port: string;
  readonly baud: number;
  readonly frame: SerialFrame;
}

export interface ModbusDeviceConfig {
  readonly slave: number;
  /** mcubus address of the device answering at this slave id, when known in advance. */
  readonly address?: number;
}

export interface RegisterProbeConfig {
  readonly slave: number;
  readonly function: 3 | 4;
  readonly start: number;
  readonly quantity: number;
  readonly expect?: { readonly min: number; readonly max: number };
}

export interface ModbusBusConfig {
  readonly type: 'modbus';
  readonly name: string;
  readonly port: string;
  readonly baud: number;
  readonly frame: SerialFrame;
  readonly devices: readonly ModbusDeviceConfig[];
  readonly registerProbes: readonly RegisterProbeConfig[];
}

interface CanCommon {
  readonly type: 'can';
  readonly name: string;
  readonly bitrate: number;
  readonly fd: boolean;
}

export type CanBusConfig =
  | (CanCommon & { readonly backend: 'socketcan'; readonly interface: string })
  | (CanCommon & { readonly backend: 'slcan'; readonly port: string })
  | (CanCommon & { readonly backend: 'sim'; readonly simBus: string });

/** A host-facing line of the in-process simulated board; its line settings come from the scenario. */
export interface SimBusConfig {
  readonly type: 'sim';
  readonly name: string;
  /** Name of the bus in the simulated board (defaults to `name`). */
  readonly simBus: string;
}

export type BusConfig = UartBusConfig | ModbusBusConfig | CanBusConfig | SimBusConfig;
export type BusType = BusConfig['type'];

export interface SimulatorConfig {
  /** 'reference' (the built-in reference board) or a path to a board file. */
  readonly scenario: string;
  readonly seed: number;
}

export interface DeviceConfig {
  readonly address: number;
  readonly name?: string;
  /** Bus the device is directly attached to. */
  readonly bus?: string;
  /** Address of the gateway device the host reaches it through. */
  readonly via?: number;
}

export interface ServicesConfig {
  readonly heartbeatTimeoutMs: number;
  readonly timeSyncPeriodMs: number;
  readonly requestTimeoutMs: number;
  readonly requestRetries: number;
  /** Message traces are kept this long (docs/observability.md "Tracing"). */
  readonly traceRetainHours: number;
  /** Heartbeat period to negotiate with every device (IDENTIFY); absent = each keeps its own. */
  readonly heartbeatPeriodMs?: number;
}

export interface UpdatesConfig {
  /** PEM files of the Ed25519 public keys an image's manifest must be signed with. */
  readonly trustedKeys: readonly string[];
  /** Slow retrieval / freeze bound: an update that makes less progress than… */
  readonly stallTimeoutS: number;
  /** …this many acknowledged bytes (or its next phase) in stallTimeoutS seconds fails as stalled. */
  readonly minProgressBytes: number;
}

export interface LogConfig {
  readonly level: LogLevel;
}

/** The daemon's rotating packet capture (docs/observability.md "Captures"). */
export interface CaptureConfig {
  readonly enabled: boolean;
  readonly directory: string;
  /** A file is closed before it would grow past this many bytes. */
  readonly maxFileBytes: number;
  /** Files kept, the one being written included. */
  readonly files: number;
  /** Buses captured; empty: every bus. */
  readonly buses: readonly string[];
}

export interface DaemonConfig {
  readonly stateDir: string;
  readonly api: ApiConfig;
  readonly simulator?: SimulatorConfig;
  readonly buses: readonly BusConfig[];
  readonly devices: readonly DeviceConfig[];
  readonly services: ServicesConfig;
  readonly updates: UpdatesConfig;
  readonly log: LogConfig;
  /** Absent when the file has no `capture` section (no capture). */
  readonly capture?: CaptureConfig;
  /** Sparkplug B over MQTT (docs/fleet.md); absent when the file has no `fleet` section (off). */
  readonly fleet?: FleetConfig;
}
