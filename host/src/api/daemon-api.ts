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
  /** Sends any request message ({type, body} as in docs/protocol.md §4) and returns the answer. */
  request(
    address: number,
    message: { type: string; body: unknown },
    timeoutMs?: number,
  ): Promise<{ ok: boolean; answer?: { type: string; body: unknown }; error?: string }>;
}
