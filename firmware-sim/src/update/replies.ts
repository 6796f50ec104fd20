import { ErrorCode, MESSAGES, type Message, type MessageName } from '@mcubus/protocol';

export type ErrorCodeName = keyof typeof ErrorCode;

/** ERROR `message` is text of at most 256 UTF-8 bytes. */
const MESSAGE_MAX_BYTES = 256;
const utf8 = new TextEncoder();

export function okReply(detail?: string): Message {
  return { type: 'ok', body: detail !== undefined ? { detail } : {} };
}

export function errorReply(
  request: MessageName,
  code: ErrorCodeName,
  message: string,
  detail?: number,
): Message {
  return {
    type: 'error',
    body: {
      code: ErrorCode[code],
      message: fitText(message, MESSAGE_MAX_BYTES),
      requestType: MESSAGES[request].code,
      ...(detail !== undefined ? { detail } : {}),
    },
  };
}

/** Cuts at a character boundary so that the UTF-8 form fits (a manifest's hardware id may be any text). */
export function fitText(text: string, maxBytes: number): string {
  if (utf8.encode(text).length <= maxBytes) return text;
  let out = text;
  while (utf8.encode(`${out}…`).length > maxBytes) out = out.slice(0, -1);
  return `${out}…`;
}
