import type { CanFrame } from '@mcubus/protocol';
import type { TransportEvent } from '../transport.js';

/**
 * A raw CAN bus as the CAN transport sees it: frames in and out, no ISO-TP. Backends: slcan over a
 * serial port, SocketCAN (lazy), or a given object of this shape (the daemon's simulator CanPort).
 */
export interface CanMedia {
  /** Resolves when frames can be sent; rejects with a TransportError. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Puts one frame on the bus at once (no pacing). */
  send(frame: CanFrame): void;
  /** A frame seen on the bus; `rxUs` is the host clock (µs) when it arrived. */
  onFrame(listener: (frame: CanFrame, rxUs: number) => void): void;
  onEvent(listener: (event: TransportEvent) => void): void;
  /** Optional backend counters, merged into the transport's. */
  counters?(): Record<string, number>;
}
