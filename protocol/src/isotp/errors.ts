import type { CanIdErrorCode } from './can-id.js';
import type { PciErrorCode } from './pci.js';

/** Frames ignored before any transfer sees them (counted, never reported as events). */
export type IgnoredFrameCode =
  | CanIdErrorCode
  | PciErrorCode
  /** Our id scheme, but another node's traffic (or our own frame echoed back). */
  | 'not_for_us'
  /** A CAN FD frame reached a node configured for classic CAN. */
  | 'fd_disabled'
  /** A FF, CF or FC on a functional (broadcast) id: broadcast is single-frame only. */
  | 'functional_not_single'
  /** A CF with no reception in progress on its id. */
  | 'unexpected_cf'
  /** A FC while no transmission on its id waits for one. */
  | 'unexpected_fc';

/** Why a reception was abandoned (`rx_error`). */
export type RxErrorCode =
  /** A CF carried the wrong sequence number. */
  | 'wrong_sn'
  /** No CF within N_Cr. */
  | 'timeout_cr'
  /** A new SF or FF on the same id replaced the reception. */
  | 'interrupted'
  /** A SF or FF longer than maxMessageSize; a FF is answered with FC(overflow). */
  | 'message_too_large';

/** Why a transmission failed (`failed`). */
export type TxErrorCode =
  /** No FC within N_Bs. */
  | 'timeout_bs'
  /** The receiver answered FC(overflow): the message is too large for it. */
  | 'overflow'
  /** More than maxWaitFrames FC(wait) in a row. */
  | 'wait_limit'
  /** The receiver answered a FC with a reserved flow status. */
  | 'reserved_flow_status'
  /** A functional (broadcast) transmit that does not fit one single frame. */
  | 'too_large_for_functional'
  | 'empty_payload'
  | 'invalid_address'
  | 'invalid_priority';

/** Every cause IsoTpNode counts. */
export type IsoTpCounterCode = IgnoredFrameCode | RxErrorCode | TxErrorCode;
