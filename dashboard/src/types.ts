/**
 * The control API's JSON as the page reads it (docs/api.md is the contract; the daemon's own types are
 * in host/src/api/daemon-api.ts). Declared here rather than imported so that the browser bundle does
 * not typecheck against Node-only daemon sources; only the fields the page shows are listed.
 */
export interface DeviceView {
  readonly address: number;
  readonly name?: string;
  readonly hardwareId?: string;
  readonly firmwareVersion?: string;
  readonly bootloaderVersion?: string;
  readonly mode: string;
  readonly bus: string;
  readonly via: number | null;
  readonly hops: number;
  readonly lastSeenMs: number;
}

export interface HealthView {
  readonly address: number;
  readonly name?: string;
  readonly state: string;
  readonly mode?: string;
  readonly healthLevel?: string;
  readonly via: number | null;
  readonly resetCount?: number;
  readonly crashLoop: boolean;
  readonly lastRttMs?: number;
}

export interface EventView {
  readonly id: number;
  readonly atMs: number;
  readonly kind: string;
  readonly severity: 'debug' | 'info' | 'warning' | 'error';
  readonly message: string;
  readonly device?: number;
  readonly bus?: string;
  readonly data?: unknown;
}

export interface TimeView {
  readonly address: number;
  readonly name?: string;
  readonly synced: boolean;
  readonly method: string;
  readonly offsetUs?: number;
  readonly boundUs?: number;
  readonly skewPpm?: number;
}

export interface TelemetryView {
  readonly id: number;
  readonly device: number;
  readonly channel: number;
  readonly value: number;
  readonly receivedMs: number;
  readonly alignedUs?: number;
  readonly boundUs?: number;
}

export interface UpdateStatusView {
  readonly device: number;
  readonly version: string;
  readonly kind: string;
  readonly phase: string;
  readonly detail: string;
  readonly size: number;
  readonly acked: number;
  readonly rateBps: number | null;
  readonly etaS: number | null;
}

export interface HopEvent {
  readonly atUs: number;
  readonly node: 'host' | number;
  readonly bus: string;
  readonly event: 'sent' | 'received' | 'forwarded' | 'dropped';
  readonly what: string;
}

export interface TraceRecord {
  readonly id: number;
  readonly wallMs: number;
  readonly bus: string;
  readonly dir: 'out' | 'in';
  readonly src: number;
  readonly dst: number;
  readonly seq: number;
  readonly type: string;
  readonly outcome: string;
  readonly attempts: number;
  readonly rttUs?: number;
  readonly hop?: string;
  readonly cause?: string;
  readonly losses: readonly { hop: string; direction: string; count: number; cause: string }[];
  readonly hops: readonly HopEvent[];
}
