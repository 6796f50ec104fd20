import type { Priority } from '@mcubus/protocol';
import type { SimTime } from '../kernel/scheduler.js';

/** Wire times of a received frame: when its first byte/CAN frame started and when its last one ended. */
export interface RxStamp {
  readonly startNs: SimTime;
  readonly endNs: SimTime;
}

/**
 * A frame to send. The carriage calls `build` once, when it fixes the bytes; `startNs` is when the
 * frame's first bit will go on the wire if the carriage knows it at that moment (UART, Modbus), so a
 * time-sync answer can carry its own send stamp (one-step). On CAN, arbitration decides, so `startNs` is
 * undefined there and `started` reports the real start afterwards (two-step, with a follow-up).
 */
export interface OutgoingFrame {
  readonly priority: Priority;
  /** Address of the node at the other end of this hop (CAN target; ignored on point-to-point links). */
  readonly nextHop: number;
  build(startNs: SimTime | undefined): Uint8Array;
  started?(startNs: SimTime): void;
  /**
   * A queue that still holds a frame with the same key may replace it by this one (cumulative
   * acknowledgements: the newer says all the older did). Only a polled link (Modbus) queues.
   */
  readonly supersedes?: string;
}

/** One port of a simulated MCU: carries whole mcubus frames (raw bytes) over one link. */
export interface Carriage {
  readonly name: string;
  readonly kind: 'uart' | 'can' | 'modbus';
  /** Largest frame this link carries. */
  readonly mtu: number;
  send(frame: OutgoingFrame): void;
  onFrame(listener: (frame: Uint8Array, stamp: RxStamp) => void): void;
  /** Called for each piece of bad input (undecodable bytes, a broken ISO-TP transfer…), as it happens. */
  onBadInput(listener: (code: string, detail: string) => void): void;
  /** Bad input seen on this port, by cause (COBS errors, ISO-TP errors, Modbus errors…). */
  counters(): Record<string, number>;
  /** Reset or power loss: drop queued, in-flight and partial frames. */
  reset(): void;
  /** While unpowered a port neither hears nor answers anything. */
  setPowered(on: boolean): void;
  /**
   * Errors of this port worth reporting in a heartbeat, as counts per ErrorCounter category. Benign
   * counts (frames for other nodes on a shared bus) are left out.
   */
  errorCounts(): Partial<Record<'framing' | 'overrun' | 'isotp' | 'modbus', number>>;
}

export function fixedFrame(bytes: Uint8Array, priority: Priority, nextHop: number): OutgoingFrame {
  return { priority, nextHop, build: () => bytes };
}
