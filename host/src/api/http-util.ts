import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';

/** An error the API answers as JSON `{error: {code, message}}` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers?: Record<string, string>,
) {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

export function sendError(res: ServerResponse, err: ApiError, headers?: Record<string, string>) {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, headers);
}

/** Reads a JSON request body; an empty body is `undefined`. Bad JSON → 400, too large → 413. */
export async function readJsonBody(req: IncomingMessage, maxBytes = 64 * 1024): Promise<unknown> {
  // A declared length over the limit is refused before a byte of the body is read.
  if (Number(req.headers?.['content-length'] ?? 0) > maxBytes) {
    throw new ApiError(413, 'body_too_large', `request body exceeds ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > maxBytes) throw new ApiError(413, 'body_too_large', `request body exceeds ${maxBytes} bytes`);
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, 'bad_json', `request body is not valid JSON: ${(e as Error).message}`);
  }
}

/** A node address in decimal or 0x hex, 0–255. Returns undefined when it is not one. */
export function parseAddress(text: string): number | undefined {
  const t = text.trim();
  let n: number;
  if (/^0x[0-9a-f]{1,2}$/i.test(t)) n = Number.parseInt(t.slice(2), 16);
  else if (/^[0-9]{1,3}$/.test(t)) n = Number.parseInt(t, 10);
  else return undefined;
  return n >= 0 && n <= 255 ? n : undefined;
}

export function formatAddress(address: number): string {
  return `0x${address.toString(16).padStart(2, '0')}`;
}

/** Constant-time string comparison (hashes first so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** Whether a bind host only accepts local connections. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}
