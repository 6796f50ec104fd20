import { type Message, messageCode } from '../messages/catalogue.js';
import {
  type DecodedMessage,
  decodeMessageBody,
  encodeMessageBody,
  type MessageError,
} from '../messages/codec.js';
import { err, ok, type Result } from '../result.js';
import { MAX_FRAME_SIZE } from './constants.js';
import { decodeRawFrame, encodeRawFrame, type FrameError, type HeaderFields } from './frame.js';
import type { FrameHeader } from './header.js';

/** A fully decoded frame: checked header and a validated (or surfaced-unknown) message. */
export interface Frame {
  readonly header: FrameHeader;
  readonly message: DecodedMessage;
}

export type FrameDecodeError = FrameError | MessageError;

export function encodeFrame(fields: Omit<HeaderFields, 'type'>, message: Message): Uint8Array {
  return encodeRawFrame({ ...fields, type: messageCode(message.type) }, encodeMessageBody(message));
}

/** Length, version, CRC, CBOR and schema checks in one call. Never throws. */
export function decodeFrame(bytes: Uint8Array, maxSize = MAX_FRAME_SIZE): Result<Frame, FrameDecodeError> {
  const raw = decodeRawFrame(bytes, maxSize);
  if (!raw.ok) return raw;
  const message = decodeMessageBody(raw.value.header.type, raw.value.body);
  if (!message.ok) return err(message.error);
  return ok({ header: raw.value.header, message: message.value });
}
