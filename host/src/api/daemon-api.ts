import type { Result } from '@mcubus/protocol';
import type { CaptureError, CaptureSession, CaptureSink } from '../capture/capture-hub.js';
import type { DeviceTimeView } from '../time/time-service.js';
import type { TraceQuery, TraceRecord } from '../trace/trace-record.js';
/**
 * What the control API serves: the daemon implements it, the HTTP server exposes it, the CLI and tests
 * consume it over the socket. Plain JSON-able values only.
 */
export interface DeviceView {
  readonly address: number;
  readonly name?: string;
  readonly hardwareId?: string;
  readonly hardwareRev?: number;
  readonly firmwareVersion?: string;
  readonly bootloaderVersion?: string;
  /** 'app' | 'bootloader' | 'updating' | 'safe' | 'unknown' */
  readonly mode: string;
  readonly bus: string;
  /** Gateway address when reached through one, else null. */
  readonly via: number | null;
  readonly hops: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

export interface BusView {
  readonly name: string;
  readonly kind: string;
  /** 'open' | 'lost' | 'closed' | 'starting' */
  readonly state: string;
  readonly detail?: string;
  readonly counters: Record<string, number>;
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

export interface StatusView {
  readonly version: string;
  readonly startedAtMs: number;
  readonly uptimeMs: number;
  readonly buses: BusView[];
  readonly devices: DeviceView[];
}

export interface PingResult {
  readonly ok: boolean;
  readonly rttMs?: number;
  readonly attempts?: number;
  readonly error?: string;
}

/** Liveness and health of one device, as the health monitor sees it. */
export interface HealthView {
  readonly address: number;
  readonly name?: string;
  /** unknown | up | suspect | down | unreachable | bootloader | updating | safe | degraded | zombie */
  readonly state: string;
  /** DeviceMode name from the last heartbeat. */
  readonly mode?: string;
  /** HealthLevel name from the last heartbeat. */
  readonly healthLevel?: string;
  readonly via: number | null;
  readonly lastHeartbeatMs?: number;
  /** The heartbeat interval the detector expects (learned), ms. */
  readonly expectedIntervalMs?: number;
  readonly resetCount?: number;
  readonly crashLoop: boolean;
  /** Last probe round trip, ms. */
  readonly lastRttMs?: number;
}

/** One device's clock against the host's (docs/time.md). */
/**
 * One device's clock against the host's (docs/time.md): the time service's view of it, with the
 * device's address and name as the rest of the API names devices.
 */
export type TimeView = Omit<DeviceTimeView, 'device'> & { readonly address: number; readonly name?: string };

/** A stored telemetry sample: the device's raw timestamp and its place on the host timeline. */
export interface TelemetryView {
  readonly id: number;
  readonly device: number;
  readonly channel: number;
  readonly epoch: number;
  /** Raw device counter (µs) as the device sent it. */
  readonly deviceUs: number;
  readonly value: number;
  /** Host wall-clock time the frame arrived (ms since the Unix epoch). */
  readonly receivedMs: number;
  /** Host wall-clock time the sample was taken (µs since the Unix epoch); absent = not aligned. */
  readonly alignedUs?: number;
  /** Error bound of alignedUs (µs). */
  readonly boundUs?: number;
}

export interface TelemetryQuery {
  readonly device?: number;
  readonly channel?: number;
  /** Samples after this id, oldest first; without it the newest, newest first. */
  readonly sinceId?: number;
  /** Aligned time window, µs since the Unix epoch. */
  readonly fromUs?: number;
  readonly toUs?: number;
  readonly limit?: number;
}

/** One device's update: under way, or the last one that finished. */
export interface UpdateStatusView {
  readonly device: number;
  readonly version: string;
  /** 'app' | 'bootloader' */
  readonly kind: string;
  /** probe | begin | transfer | verify | activate | boot_wait | reset | trial | confirm | done | failed | rolled_back | cancelled */
  readonly phase: string;
  readonly detail: string;
  readonly size: number;
  /** Bytes the device has acknowledged. */
  readonly acked: number;
  /** Bytes the device already held when the transfer started (resumed). */
  readonly resumedFrom: number;
  readonly sentBytes: number;
  readonly retransmittedBytes: number;
  readonly chunkSize: number;
  readonly window: number;
  /** Transfer goodput so far, bytes/s. */
  readonly rateBps: number | null;
  readonly etaS: number | null;
}

/** An update to start: the image and its signed manifest envelope. */
export interface UpdateRequest {
  readonly image: Uint8Array;
  readonly envelope: Uint8Array;
  readonly allowDowngrade?: boolean;
  readonly chunkSize?: number;
  readonly trialMs?: number;
}

/** A campaign's planned order: one update at a time per bus, buses in parallel. */
export interface CampaignPlanItem {
  readonly device: number;
  readonly bus: string;
  readonly step: number;
  readonly version?: string;
  /** Why the campaign cannot start (unknown device, unreadable file). */
  readonly problem?: string;
}

export interface CampaignView {
  readonly id: number;
  readonly createdMs: number;
  /** running | finished | cancelled */
  readonly state: string;
  readonly items: readonly { device: number; bus: string; step: number; state: string; detail: string }[];
}

export interface CampaignStartRequest {
  /** Absolute paths; the manifest defaults to IMAGE.manifest. */
  readonly items: readonly {
    readonly device: number;
    readonly imagePath: string;
    readonly manifestPath: string;
  }[];
  readonly allowDowngrade?: boolean;
  readonly trialMs?: number;
}

export interface DaemonApi {
  status(): StatusView;
  devices(): DeviceView[];
  device(address: number): DeviceView | undefined;
  /** Newest first, or after `sinceId` (oldest first) for follow mode. */
  events(query: { sinceId?: number; device?: number; limit?: number }): EventView[];
  /** Live events (for the SSE stream); returns an unsubscribe function. */
  subscribe(listener: (event: EventView) => void): () => void;
  ping(address: number, timeoutMs?: number): Promise<PingResult>;
  /** Every device's liveness and health. */
  health(): HealthView[];
  /** One device's health and its history of health events (state changes, resets), newest first. */
  healthOf(address: number, limit?: number): { health: HealthView; history: EventView[] } | undefined;
  /** Every device's clock mapping. */
  time(): TimeView[];
  /** Stored telemetry. */
  telemetry(query: TelemetryQuery): TelemetryView[];
  /** Finished message traces (docs/observability.md "Tracing"), newest first. */
  traces(query: TraceQuery): TraceRecord[];
  trace(id: number): TraceRecord | undefined;
  /** Starts an update; refused (with a code) before anything is sent when the image must not go. */
  startUpdate(
    address: number,
    request: UpdateRequest,
  ): { ok: true } | { ok: false; code: string; message: string };
  /** Updates under way and the last finished one of each device. */
  updates(): UpdateStatusView[];
  cancelUpdate(address: number): boolean;
  /** Plans a campaign and, unless `dryRun` or the plan has problems, starts it. */
  startCampaign(request: CampaignStartRequest, dryRun: boolean): { id?: number; plan: CampaignPlanItem[] };
  campaigns(): CampaignView[];
  cancelCampaign(id: number): boolean;
  /** Sends any request message ({type, body} as in docs/protocol.md §4) and returns the answer. */
  request(
    address: number,
    message: { type: string; body: unknown },
    timeoutMs?: number,
  ): Promise<{ ok: boolean; answer?: { type: string; body: unknown }; error?: string }>;
  /**
   * Live packet capture of `buses` (every capturable bus when empty) as a pcapng byte stream into
   * `sink` (docs/observability.md "Captures"); close the session to stop. Optional: without it the API
   * answers 501.
   */
  capture?(buses: readonly string[], sink: CaptureSink): Result<CaptureSession, CaptureError>;
}
