import type { CanFrame } from '@mcubus/protocol';

/**
 * What a transport puts on or takes off its wire, for packet captures (docs/observability.md,
 * "Captures"). `atUs` is on the daemon's host clock (µs, the clock of `rxUs` and of the runtime): for
 * a received packet when its last byte or bit arrived, as well as the adapter can tell; for a sent one
 * when the adapter handed it to the line (CAN: its start of frame when the adapter knows it). That is
 * libpcap's convention, and it keeps each interface of a capture in time order on a full-duplex line.
 */
export type CaptureRecord =
  /**
   * UART: the bytes of one COBS piece as on the wire, its 0x00 delimiter included (sent: exactly the
   * bytes written, with a leading idle delimiter when there was one). `error` marks a received piece
   * that is not a frame (cobs_zero, cobs_overrun, oversize); `originalLength` > bytes.length when an
   * oversize piece was cut.
   */
  | {
      readonly link: 'uart';
      readonly direction: 'in' | 'out';
      readonly atUs: number;
      readonly bytes: Uint8Array;
      readonly originalLength?: number;
      readonly error?: string;
    }
  /** CAN: one CAN frame. Received frames are every frame the adapter saw, not only ours. */
  | {
      readonly link: 'can';
      readonly direction: 'in' | 'out';
      readonly atUs: number;
      readonly frame: CanFrame;
    }
  /** Modbus RTU: one whole ADU (address, function, data, CRC-16) as on the line. */
  | {
      readonly link: 'modbus';
      readonly direction: 'in' | 'out';
      readonly atUs: number;
      readonly adu: Uint8Array;
    };

export type CaptureListener = (record: CaptureRecord) => void;

/**
 * The listeners of one transport. Adapters build records only while `active`, so that a daemon that
 * captures nothing pays one boolean test per frame.
 */
export class CaptureTap {
  readonly #listeners = new Set<CaptureListener>();

  get active(): boolean {
    return this.#listeners.size > 0;
  }

  /** Adds a listener; returns the function that removes it. */
  add(listener: CaptureListener): () => void {
    // A wrapper per call, so that adding the same function twice gives two independent subscriptions.
    const entry: CaptureListener = (r) => listener(r);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  emit(record: CaptureRecord): void {
    for (const l of this.#listeners) l(record);
  }
}
