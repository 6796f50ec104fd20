import { readFile, realpath } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from './http-util.js';

/**
 * The operator dashboard's files (docs/dashboard.md): `dashboard/dist`, built by `npm run build:ui`.
 * This file sits at host/src/api/ (tsx) or host/dist/api/ (compiled): the same depth below the root.
 */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url));

/** Paths the dashboard owns: the page at `/` and `/ui/`, its bundle under `/ui/`. */
export function isUiPath(pathname: string): boolean {
  return pathname === '/' || pathname === '/ui' || pathname.startsWith('/ui/');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * Everything the page loads comes from the daemon itself (no CDN), so the policy allows only 'self';
 * uPlot positions its legend and cursor with inline style attributes set from script, which CSP's
 * style-src does not govern. The page may not be framed (clickjacking of a firmware console).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** GET/HEAD of the dashboard: index.html for the page paths, the file itself under /ui/. */
export async function serveUi(
  method: string,
  pathname: string,
  res: ServerResponse,
  uiDir: string,
): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${pathname}`);
  }
  const rel =
    pathname === '/' || pathname === '/ui' || pathname === '/ui/' ? 'index.html' : pathname.slice(4);
  const file = await resolveInside(uiDir, rel, pathname);
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (rel === 'index.html' && code === 'ENOENT')
      throw new ApiError(
        404,
        'dashboard_not_built',
        `the dashboard is not built (no ${file}); run "npm run build:ui" in the mcubus checkout`,
      );
    if (code === 'ENOENT' || code === 'EISDIR') throw new ApiError(404, 'not_found', `no file ${pathname}`);
    throw e;
  }
  // Vite names bundle files by content hash: they never change under the same name. The page itself
  // must be fetched again so that a rebuilt dashboard is picked up.
  const immutable = rel.startsWith('assets/');
  res.writeHead(200, {
    'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...SECURITY_HEADERS,
  });
  res.end(method === 'HEAD' ? undefined : body);
}

/** The file `rel` under `dir`, refusing anything (`..`, encoded slashes, symlinks) that leaves it. */
async function resolveInside(dir: string, rel: string, pathname: string): Promise<string> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    throw new ApiError(400, 'bad_path', `${pathname} is not a valid path`);
  }
  const parts = decoded.split('/');
  if (decoded.includes('\\') || decoded.includes('\0') || parts.some((p) => p === '..' || p === '.'))
    throw new ApiError(404, 'not_found', `no file ${pathname}`);
  const candidate = join(dir, ...parts);
  let real: string;
  let root: string;
  try {
    [real, root] = await Promise.all([realpath(candidate), realpath(dir)]);
  } catch {
    // Missing files are reported by the read (with the not-built hint for the page).
    return candidate;
  }
  if (real !== root && !real.startsWith(root.endsWith(sep) ? root : root + sep))
    throw new ApiError(404, 'not_found', `no file ${pathname}`);
  return real;
}
