import type { ServerOptions } from 'node:http';

/**
 * Bounds on what one client may cost the API (issue 11, bad input). Node's own defaults (60 s for
 * headers, 300 s for the whole request, checked only every 30 s) let a slow client (slowloris: headers
 * or body trickled a byte at a time) hold a connection for minutes; these answer it with 408 much
 * sooner. Bodies are bounded separately by readJsonBody (413). Long-lived responses (SSE streams) are
 * not affected: the timeouts cover receiving the request only.
 */
export interface HttpLimits {
  /** Time allowed to receive the request headers. */
  readonly headersTimeoutMs: number;
  /** Time allowed to receive the whole request, headers and body. */
  readonly requestTimeoutMs: number;
}

// Headers get longer than Node's 5 s keep-alive idle timeout, so an idle keep-alive connection is closed
// as idle before its next request could be cut as slow.
export const DEFAULT_HTTP_LIMITS: HttpLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 };

export function httpServerOptions(limits: HttpLimits = DEFAULT_HTTP_LIMITS): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // How often Node looks for timed-out requests; its 30 s default would let a slow client outlive
    // the limits above by that much.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.headersTimeoutMs / 4)),
    // 16 KiB of headers at most (Node's default, stated here so it is not lost): more is 431.
    maxHeaderSize: 16 * 1024,
  };
}
