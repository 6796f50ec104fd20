import type { CanFrame } from '@mcubus/protocol';
import type { SimTime } from '../kernel/scheduler.js';

/**
 * What a simulated MCU or the host sees of a byte-oriented line (a UART, or a Modbus RTU RS-485
 * line). Bytes written go out back to back at the line rate after what is already queued; the other
 * end receives them in chunks, each stamped with the virtual time its last byte finished arriving.
 */
export interface ByteEndpoint {
  readonly name: string;
  write(bytes: Uint8Array): void;
  onReceive(listener: (bytes: Uint8Array, atNs: SimTime) => void): void;
  /** Virtual time at which everything written so far will have left the wire. */
  readonly txIdleAt: SimTime;
  /** Time one byte (character) takes on this line, in ns. */
  readonly byteTimeNs: number;
}

export type CanControllerState = 'error_active' | 'error_passive' | 'bus_off';

export type CanBusEvent =
  | { readonly kind: 'error_frame'; readonly atNs: SimTime; readonly detail: string }
  | { readonly kind: 'state'; readonly atNs: SimTime; readonly state: CanControllerState };

/** What a node sees of a simulated CAN bus: a controller with a TX queue and a receive callback. */
export interface CanPort {
  readonly name: string;
  /** Queues a frame; it is sent when it wins arbitration. */
  transmit(frame: CanFrame): void;
  /** Frames other nodes sent, stamped at their end of frame, with the time their SOF started. */
  onFrame(listener: (frame: CanFrame, atNs: SimTime, startNs: SimTime) => void): void;
  /** One of our frames was sent (acknowledged) at `atNs`; it started at `startNs`. */
  onTxComplete(listener: (frame: CanFrame, atNs: SimTime, startNs: SimTime) => void): void;
  onBusEvent(listener: (event: CanBusEvent) => void): void;
  readonly state: CanControllerState;
  /** Frames waiting in this controller's TX queue. */
  readonly txPending: number;
  /** Drops every frame still waiting in the TX queue (controller reset); returns how many. */
  abortPending(): number;
}
