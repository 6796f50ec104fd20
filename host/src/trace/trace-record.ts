/**
 * One message's lifecycle as the host saw it, completed with what the forwarding nodes on its path
 * reported (docs/observability.md "Tracing").
 */
export interface TraceRecord {
  /** Unique per daemon state directory (the SQLite row id once stored). */
  readonly id: number;
  /** Host wall-clock ms of the first transmission or of the arrival. */
  readonly wallMs: number;
  /** The bus the host sent it on or received it from. */
  readonly bus: string;
  /** out: the host originated it (a request, with its answer); in: a device did (an event). */
  readonly dir: 'out' | 'in';
  readonly src: number;
  readonly dst: number;
  readonly seq: number;
  /** Message type name (of the request, for out). */
  readonly type: string;
  /** Frame bytes of the first transmission (request) or of the received frame. */
  readonly size: number;
  readonly outcome: TraceOutcome;
  /** Transmissions of the request (1 = no retry). */
  readonly attempts: number;
  /** Round trip of the answered attempt (µs). */
  readonly rttUs?: number;
  /** For failures and retries: the hop that lost or rejected it ("can0 0x10→0x21") … */
  readonly hop?: string;
  /** … and why, in words. */
  readonly cause?: string;
  /** Every loss the host can place, one entry per hop and direction. */
  readonly losses: readonly Loss[];
  /** The path hop by hop on the host timeline. */
  readonly hops: readonly HopEvent[];
}

export type TraceOutcome =
  /** A request answered (possibly after retries). */
  | 'answered'
  /** A request answered with ERROR (by the device or a node on the path). */
  | 'error'
  /** A request no answer came to, after every attempt. */
  | 'timeout'
  | 'cancelled'
  /** An event the host sent (never answered). */
  | 'sent'
  /** A repeated event or answer, dropped. */
  | 'duplicate'
  /** A frame that failed its checks (CRC, CBOR, schema): src unknown. */
  | 'bad_frame';

export interface Loss {
  readonly hop: string;
  readonly direction: 'request' | 'answer' | 'unknown';
  readonly count: number;
  readonly cause: string;
  /** Present for copies that were not lost but came too late (the hop that took the time). */
  readonly late?: true;
}

export interface HopEvent {
  /** Host monotonic µs; aligned from the node's clock for hops a gateway reported. */
  readonly atUs: number;
  /** Who did it: 'host' or the node's address. */
  readonly node: 'host' | number;
  readonly bus: string;
  /** sent / received by the host; forwarded / dropped by a gateway. */
  readonly event: 'sent' | 'received' | 'forwarded' | 'dropped';
  /** request or answer copy; the attempt for host sends. */
  readonly what: string;
}

/** Filters of `mcubus trace` and GET /v1/traces. */
export interface TraceQuery {
  readonly device?: number;
  readonly bus?: string;
  readonly type?: string;
  /** Only failures and requests that needed a retry. */
  readonly problems?: boolean;
  readonly outcome?: TraceOutcome;
  readonly limit?: number;
  /** Newer than this id. */
  readonly afterId?: number;
}
