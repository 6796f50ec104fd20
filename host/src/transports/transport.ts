import type { CaptureListener } from './capture-tap.js';

/**
 * What the daemon's core sees of a bus, whatever carries it: whole mcubus frames in and out. Each
 * transport adapter (UART, Modbus RTU master, CAN with ISO-TP over SocketCAN/slcan, the in-process
 * simulator) implements it around its sans-IO codec.
 */
export interface FrameTransport {
  /** Bus name from the configuration. */
  readonly name: string;
  readonly kind: 'uart' | 'modbus' | 'can' | 'sim';
  /** Largest frame this bus carries (Modbus: 251). */
  readonly mtu: number;
  /**
   * Bulk frames the bus sends to a device before that device can answer (Modbus: broadcasts between
   * polls). Window sizing keeps at least this many in flight. Absent: 1.
   */
  readonly ackBatch?: number;
  /**
   * How far (µs) the time-sync offset can be off even on the quickest exchange, because the path's
   * minimum delays differ in a way no stamp sees (Modbus RTU: a slave knows that a request has ended
   * only after 3.5 characters of silence; the master reads the answer's end from its length). The
   * clock estimator adds it to its bound. Absent: 0 (a symmetric floor).
   */
  readonly timeAsymmetryUs?: number;
  /** Opens the port(s); resolves when usable, rejects with a TransportError (missing port, bad config). */
  start(): Promise<void>;
  /**
   * Like start, but never fails: a port that cannot be opened is retried with backoff in the
   * background, reporting `lost` and `open` events. Adapters of real ports implement it.
   */
  startInBackground?(): void;
  /** Modbus buses only: reads registers of a (third-party) slave, for health probes. */
  readRegisters?(slave: number, fn: 0x03 | 0x04, start: number, quantity: number): Promise<number[]>;
  /** Closes everything; pending sends are dropped and counted. */
  stop(): Promise<void>;
  /**
   * Sends one frame to the node at the other end of this hop (`nextHop`: the CAN target address; the
   * Modbus device's mcubus address; ignored on a point-to-point UART).
   */
  send(frame: Uint8Array, nextHop: number, priority: 0 | 1 | 2 | 3, onStarted?: TxStampListener): void;
  /**
   * A whole frame arrived. `from` is the link-level sender when the bus knows it (CAN source address,
   * the polled Modbus device's mcubus address), else undefined. `rxUs` is the host clock (µs) when the
   * frame started arriving, as close to the wire as the adapter can tell.
   */
  onFrame(listener: (frame: Uint8Array, info: { from?: number; rxUs: number }) => void): void;
  /** State changes and bad input, for the journal and the logs. */
  onEvent(listener: (event: TransportEvent) => void): void;
  /** Counters by cause (bytes, frames, bad frames by cause, reopen attempts, …). */
  counters(): Record<string, number>;
  /**
   * Packet capture tap: what goes on and comes off the wire (COBS pieces, CAN frames, Modbus ADUs),
   * stamped on the host clock. Returns the function that removes the listener. Optional: a transport
   * without it cannot be captured.
   */
  onCapture?(listener: CaptureListener): () => void;
}

/**
 * Told the host clock (µs) at which the frame starts on the wire, as well as the adapter can tell —
 * never later than the real start (a stamp that is early only widens a time-sync interval; one that
 * is late would bias it). Called once, when known (the time-sync exchange's t1).
 */
export type TxStampListener = (txUs: number) => void;

export type TransportEvent =
  | { readonly kind: 'open'; readonly detail: string }
  | { readonly kind: 'closed'; readonly detail: string }
  /** The port vanished or failed; the adapter retries with backoff and says when. */
  | { readonly kind: 'lost'; readonly detail: string; readonly retryInMs: number }
  | { readonly kind: 'bad_input'; readonly code: string; readonly detail: string }
  | { readonly kind: 'error'; readonly code: string; readonly detail: string };

export class TransportError extends Error {
  constructor(
    readonly code: 'missing_port' | 'open_failed' | 'bad_config' | 'unsupported',
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}
