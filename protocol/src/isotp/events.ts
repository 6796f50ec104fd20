import type { CodedError } from '../result.js';
import type { CanFrame } from './can-frame.js';
import type { FramePriority } from './can-id.js';
import type { RxErrorCode, TxErrorCode } from './errors.js';

/** Inputs of IsoTpNode.handle. */
export type IsoTpInput =
  | {
      readonly type: 'transmit';
      /** Chosen by the caller, echoed in `transmitted` / `failed`. */
      readonly handle: number;
      /** Peer node address; 0xFF (or `functional`) broadcasts. */
      readonly to: number;
      /** One mcubus frame. Not copied: leave it unchanged until `transmitted` or `failed`. */
      readonly payload: Uint8Array;
      readonly priority: FramePriority;
      /**
       * Broadcast on the functional id (single frame only); `to` must then be 0xFF. A transmit to 0xFF
       * is a broadcast anyway.
       */
      readonly functional?: boolean;
    }
  /** Every frame seen on the bus; the node ignores (and counts) what is not for it. */
  | { readonly type: 'frame'; readonly frame: CanFrame }
  /** Time passed: due when `now` reaches the last returned wakeAt. */
  | { readonly type: 'tick' };

/** What IsoTpNode reports upwards. */
export type IsoTpEmit =
  | {
      readonly type: 'received';
      readonly from: number;
      readonly priority: FramePriority;
      readonly payload: Uint8Array;
      /** True when it came on the functional (broadcast) id. */
      readonly functional: boolean;
    }
  /** Every frame of the message was handed to the driver (ISO-TP has no end-to-end acknowledgement). */
  | { readonly type: 'transmitted'; readonly handle: number; readonly to: number }
  | {
      readonly type: 'failed';
      readonly handle: number;
      readonly to: number;
      readonly error: CodedError<TxErrorCode>;
    }
  | { readonly type: 'rx_error'; readonly from: number; readonly error: CodedError<RxErrorCode> };

export interface IsoTpOutput {
  /** Frames to put on the bus, in order. */
  readonly send: CanFrame[];
  /** Absolute time (µs) at which to call handle again with a tick; absent when nothing is pending. */
  readonly wakeAt?: number;
  readonly emit: IsoTpEmit[];
}
