import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, bearerToken, safeEqual } from './http-util.js';
import { isUiPath } from './ui-route.js';

/**
 * Who may use a token-protected TCP listener (docs/dashboard.md "The token rule"). Programs send
 * `Authorization: Bearer TOKEN`. A browser cannot put a header on a page load or on an EventSource, so
 * the dashboard is opened once as `/?token=TOKEN`: the daemon answers with a cookie holding the token
 * and a redirect to the same page without it (so it leaves the address bar). The cookie then rides
 * along on the page's own requests.
 *
 * The cookie only grants reads (GET/HEAD): a browser sends cookies on requests other sites make it
 * send, so a write (starting an update) always needs the header. SameSite=Strict already keeps the
 * cookie off cross-site requests; the read-only rule makes that not the only defence.
 */
export const TOKEN_COOKIE = 'mcubus_token';

export type Admission = 'continue' | 'answered';

export function admit(req: IncomingMessage, res: ServerResponse, url: URL, token: string): Admission {
  const given = bearerToken(req);
  if (given !== undefined) {
    if (safeEqual(given, token)) return 'continue';
    throw new ApiError(401, 'unauthorized', 'wrong bearer token');
  }
  const method = req.method ?? 'GET';
  const readOnly = method === 'GET' || method === 'HEAD';
  const query = url.searchParams.get('token');
  if (query !== null && readOnly && isUiPath(url.pathname)) {
    if (!safeEqual(query, token)) throw new ApiError(401, 'unauthorized', 'wrong token in ?token=');
    url.searchParams.delete('token');
    res.writeHead(303, {
      location: `${url.pathname}${url.search}`,
      'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
    });
    res.end();
    return 'answered';
  }
  const cookie = cookieValue(req, TOKEN_COOKIE);
  if (cookie !== undefined && safeEqual(cookie, token)) {
    if (readOnly) return 'continue';
    throw new ApiError(
      403,
      'forbidden',
      `the dashboard cookie only grants reads; ${method} needs Authorization: Bearer <token>`,
    );
  }
  throw new ApiError(
    401,
    'unauthorized',
    'missing or wrong bearer token (a browser opens the dashboard once as /?token=TOKEN; docs/dashboard.md)',
  );
}

/** One cookie's value from the Cookie header(s), URI-decoded; undefined when absent or malformed. */
export function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}
