import { chmod, lstat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { isAbsolute } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { ImageFileError, manifestPathFor, readImageFile, readManifestFile } from '../update/image-files.js';
import { admit } from './browser-auth.js';
import { captureRoute } from './capture-route.js';
import type {
  CampaignStartRequest,
  DaemonApi,
  EventView,
  TelemetryQuery,
  UpdateRequest,
} from './daemon-api.js';
import { ApiError, isLoopbackHost, parseAddress, readJsonBody, sendError, sendJson } from './http-util.js';
import { type HttpLimits, httpServerOptions } from './limits.js';
import { type MetricsExposition, serveMetrics } from './metrics-route.js';
import { formatSse, formatSseComment } from './sse.js';
import { traceQuery } from './trace-query.js';
import { DEFAULT_UI_DIR, isUiPath, serveUi } from './ui-route.js';

export interface ApiServerOptions {
  /** Unix socket the API listens on (always). */
  socketPath: string;
  /** File mode of the socket, default 0o660. */
  socketMode?: number;
  /**
   * Optional TCP listener. A non-loopback host requires `token` (start fails without one); when a token
   * is set every TCP request must carry `Authorization: Bearer <token>`. Port 0 picks a free port.
   */
  tcp?: { host: string; port: number; token?: string };
  /** Interval of SSE heartbeat comments, default 15 000 ms. */
  heartbeatMs?: number;
  /** Served at `GET /metrics` (Prometheus text); without it that path is 404. */
  metrics?: MetricsExposition;
  /** Where the dashboard's built files are (docs/dashboard.md); default: the checkout's dashboard/dist. */
  uiDir?: string;
  /** Header and request time limits against slow clients; default DEFAULT_HTTP_LIMITS (limits.ts). */
  limits?: HttpLimits;
  log?: (msg: string, data?: Record<string, unknown>) => void;
}

export interface ApiServerHandle {
  close(): Promise<void>;
  /** The bound TCP port, when a TCP listener runs. */
  tcpPort?: number;
}

const MAX_EVENTS_LIMIT = 10_000;

/** Starts the control API (HTTP/1.1 + JSON) on a Unix socket and optionally on TCP. */
export async function startApiServer(api: DaemonApi, opts: ApiServerOptions): Promise<ApiServerHandle> {
  const log = opts.log ?? (() => {});
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const tcp = opts.tcp;
  const metrics = opts.metrics;
  const uiDir = opts.uiDir ?? DEFAULT_UI_DIR;
  if (tcp && !isLoopbackHost(tcp.host) && !tcp.token) {
    throw new Error(
      `the API TCP listener on non-loopback host ${tcp.host} requires a token (Authorization: Bearer)`,
    );
  }
  const streams = new Set<ServerResponse>();
  const handler = (token: string | undefined) => (req: IncomingMessage, res: ServerResponse) => {
    handleRequest(api, req, res, { token, heartbeatMs, streams, log, metrics, uiDir }).catch((e: unknown) => {
      log('api: request failed', { method: req.method, url: req.url, error: String(e) });
      if (!res.headersSent) {
        sendError(res, new ApiError(500, 'internal', e instanceof Error ? e.message : String(e)));
      } else res.destroy();
    });
  };

  await clearStaleSocket(opts.socketPath);
  const serverOptions = httpServerOptions(opts.limits);
  const unixServer = createServer(serverOptions, handler(undefined));
  const socketMode = opts.socketMode ?? 0o660;
  await listen(unixServer, (cb) =>
    withUmask(0o777 & ~socketMode, () => unixServer.listen(opts.socketPath, cb)),
  );
  const servers: Server[] = [unixServer];
  let tcpPort: number | undefined;
  try {
    // The umask above already gave the socket this mode; chmod states it explicitly (and covers a
    // worker thread, where the umask cannot be changed).
    await chmod(opts.socketPath, socketMode);
    if (tcp) {
      const tcpServer = createServer(serverOptions, handler(tcp.token));
      await listen(tcpServer, (cb) => tcpServer.listen(tcp.port, tcp.host, cb));
      servers.push(tcpServer);
      const addr = tcpServer.address();
      tcpPort = typeof addr === 'object' && addr ? addr.port : tcp.port;
    }
  } catch (e) {
    await Promise.all(servers.map(closeServer));
    throw e;
  }
  log('api: listening', { socket: opts.socketPath, tcp: tcp ? `${tcp.host}:${tcpPort}` : undefined });

  let closed: Promise<void> | undefined;
  const handle: ApiServerHandle = {
    close() {
      closed ??= (async () => {
        for (const s of streams) s.end();
        streams.clear();
        await Promise.all(servers.map(closeServer));
      })();
      return closed;
    },
  };
  if (tcpPort !== undefined) handle.tcpPort = tcpPort;
  return handle;
}

/**
 * Runs `fn` (synchronous) under `mask`, then restores the umask. bind(2) creates the socket file with
 * mode 0o777 & ~umask, and connect(2) needs write permission on it: listening under the inherited umask
 * and chmod-ing afterwards left a window in which the socket took whatever that umask allowed — every
 * local user under umask 000, the group under 002 even when socketMode is 0o600. With `mask` =
 * 0o777 & ~socketMode the file never has more than socketMode. Node binds a Unix socket path inside
 * listen() itself (outside cluster workers), so restoring the umask right after the call is enough; the
 * umask is process-wide, so it is changed for that one synchronous call only. In a worker thread
 * process.umask(mask) throws: there `fn` runs as is and the chmod that follows is all.
 */
function withUmask<T>(mask: number, fn: () => T): T {
  if (!isMainThread) return fn();
  const old = process.umask(mask);
  try {
    return fn();
  } finally {
    process.umask(old);
  }
}

function listen(server: Server, start: (cb: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    start(() => {
      server.off('error', onError);
      // Errors after listening (e.g. EMFILE on accept) must not become uncaught 'error' events.
      server.on('error', () => {});
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * A socket file left by a dead daemon is removed; one a live daemon answers on is refused, and so is a
 * path that is not a socket. startApiServer calls it; mcubusd also calls it first thing, so that a
 * second daemon is turned away before it opens the state directory and the buses.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another mcubusd is already listening on ${path}`);
  await unlink(path);
}

interface Ctx {
  token: string | undefined;
  metrics?: MetricsExposition | undefined;
  uiDir: string;
  heartbeatMs: number;
  streams: Set<ServerResponse>;
  log: (msg: string, data?: Record<string, unknown>) => void;
}

async function handleRequest(
  api: DaemonApi,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Ctx,
): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://mcubusd');
    // Bearer header, or for a browser the dashboard's cookie (reads only): browser-auth.ts.
    if (ctx.token !== undefined && admit(req, res, url, ctx.token) === 'answered') return;
    const method = req.method ?? 'GET';
    if (url.pathname === '/metrics') return await serveMetrics(method, res, ctx.metrics);
    if (isUiPath(url.pathname)) return await serveUi(method, url.pathname, res, ctx.uiDir);
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0] !== 'v1') throw new ApiError(404, 'not_found', `no route ${url.pathname}`);
    const route = parts.slice(1);

    const only = (allowed: string) => {
      if (method !== allowed) {
        res.setHeader('allow', allowed);
        throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${url.pathname}`);
      }
    };
    const address = (text: string) => {
      const a = parseAddress(decodeURIComponent(text));
      if (a === undefined) {
        throw new ApiError(400, 'bad_address', `"${text}" is not a node address (0–255, decimal or 0x hex)`);
      }
      return a;
    };

    if (route.length === 1 && route[0] === 'status') {
      only('GET');
      return sendJson(res, 200, api.status());
    }
    if (route.length === 1 && route[0] === 'devices') {
      only('GET');
      return sendJson(res, 200, api.devices());
    }
    if (route.length === 2 && route[0] === 'devices') {
      only('GET');
      const a = address(route[1]!);
      const d = api.device(a);
      if (!d) throw new ApiError(404, 'unknown_device', `no device at address ${a}`);
      return sendJson(res, 200, d);
    }
    if (route.length === 3 && route[0] === 'devices' && route[2] === 'ping') {
      only('POST');
      const a = address(route[1]!);
      const body = asObject(await readJsonBody(req));
      const timeoutMs = optTimeout(body.timeoutMs);
      return sendJson(res, 200, await api.ping(a, timeoutMs));
    }
    if (route.length === 3 && route[0] === 'devices' && route[2] === 'request') {
      only('POST');
      const a = address(route[1]!);
      const body = asObject(await readJsonBody(req));
      if (typeof body.type !== 'string' || body.type === '') {
        throw new ApiError(400, 'bad_request', '"type" must be a non-empty string');
      }
      const timeoutMs = optTimeout(body.timeoutMs);
      const result = await api.request(a, { type: body.type, body: body.body ?? {} }, timeoutMs);
      return sendJson(res, 200, result);
    }
    if (route.length === 1 && route[0] === 'health') {
      only('GET');
      return sendJson(res, 200, api.health());
    }
    if (route.length === 2 && route[0] === 'health') {
      only('GET');
      const a = address(route[1]!);
      const h = api.healthOf(a, limitParam(url.searchParams));
      if (!h) throw new ApiError(404, 'unknown_device', `no device at address ${a}`);
      return sendJson(res, 200, h);
    }
    if (route.length === 1 && route[0] === 'time') {
      only('GET');
      return sendJson(res, 200, api.time());
    }
    if (route.length === 2 && route[0] === 'time') {
      only('GET');
      const a = address(route[1]!);
      const t = api.time().find((x) => x.address === a);
      if (!t) throw new ApiError(404, 'unknown_device', `no clock known for address ${a}`);
      return sendJson(res, 200, t);
    }
    if (route[0] === 'traces' && route.length <= 2) {
      only('GET');
      if (route.length === 1) return sendJson(res, 200, api.traces(traceQuery(url.searchParams, address)));
      const id = /^\d+$/.test(route[1]!) ? Number(route[1]) : Number.NaN;
      const t = Number.isSafeInteger(id) ? api.trace(id) : undefined;
      if (!t) throw new ApiError(404, 'unknown_trace', `no trace with id "${route[1]}"`);
      return sendJson(res, 200, t);
    }
    if (route.length === 1 && route[0] === 'telemetry') {
      only('GET');
      return sendJson(res, 200, api.telemetry(telemetryQuery(url.searchParams, address)));
    }
    if (route.length === 3 && route[0] === 'devices' && route[2] === 'update') {
      only('POST');
      const a = address(route[1]!);
      const body = asObject(await readJsonBody(req));
      const request = readUpdateRequest(body);
      const r = api.startUpdate(a, request);
      if (!r.ok) throw new ApiError(r.code === 'unknown_device' ? 404 : 409, r.code, r.message);
      return sendJson(res, 202, { started: true });
    }
    if (route.length === 4 && route[0] === 'devices' && route[2] === 'update' && route[3] === 'cancel') {
      only('POST');
      const a = address(route[1]!);
      if (!api.cancelUpdate(a)) throw new ApiError(404, 'no_update', `no update under way for ${a}`);
      return sendJson(res, 200, { cancelled: true });
    }
    if (route.length === 1 && route[0] === 'campaigns') {
      if (method === 'GET') return sendJson(res, 200, api.campaigns());
      only('POST');
      const body = asObject(await readJsonBody(req));
      const r = api.startCampaign(readCampaignRequest(body, address), body.dryRun === true);
      return sendJson(res, r.id === undefined ? 200 : 202, r);
    }
    if (route.length === 3 && route[0] === 'campaigns' && route[2] === 'cancel') {
      only('POST');
      const id = nonNegInt('id', route[1]!);
      if (!api.cancelCampaign(id)) throw new ApiError(404, 'no_campaign', `no running campaign ${id}`);
      return sendJson(res, 200, { cancelled: true });
    }
    if (route.length === 1 && route[0] === 'updates') {
      only('GET');
      return sendJson(res, 200, api.updates());
    }
    if (route.length === 1 && route[0] === 'events') {
      only('GET');
      return sendJson(res, 200, api.events(eventQuery(url.searchParams, address)));
    }
    if (route.length === 2 && route[0] === 'events' && route[1] === 'stream') {
      only('GET');
      return stream(api, req, res, ctx, url.searchParams, address);
    }
    if (route.length === 1 && route[0] === 'capture') {
      only('GET');
      return captureRoute(api, res, url.searchParams, ctx.streams);
    }
    throw new ApiError(404, 'not_found', `no route ${url.pathname}`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (!res.headersSent) sendError(res, e);
  }
}

function asObject(v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ApiError(400, 'bad_request', 'request body must be a JSON object');
  }
  return v as Record<string, unknown>;
}

function optTimeout(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 600_000) {
    throw new ApiError(400, 'bad_request', '"timeoutMs" must be a number of milliseconds in (0, 600000]');
  }
  return v;
}

function nonNegInt(name: string, text: string): number {
  if (!/^[0-9]+$/.test(text))
    throw new ApiError(400, 'bad_request', `"${name}" must be a non-negative integer`);
  return Number(text);
}

function eventQuery(
  q: URLSearchParams,
  address: (t: string) => number,
): { sinceId?: number; device?: number; limit?: number } {
  const out: { sinceId?: number; device?: number; limit?: number } = {};
  const since = q.get('since');
  if (since !== null && since !== '') out.sinceId = nonNegInt('since', since);
  const device = q.get('device');
  if (device !== null && device !== '') out.device = address(device);
  const limit = limitParam(q);
  if (limit !== undefined) out.limit = limit;
  return out;
}

/**
 * POST /v1/devices/:address/update: {"image": "/abs/path.bin", "manifest"?: "/abs/path.bin.manifest",
 * "allowDowngrade"?: bool, "chunkSize"?: 16–4096, "trialMs"?: 0–600000}. The daemon reads the files
 * (the CLI passes absolute paths): images are too big for a JSON body.
 */
function readUpdateRequest(body: Record<string, unknown>): UpdateRequest {
  const path = (k: string) => {
    const v = body[k];
    if (typeof v !== 'string' || !isAbsolute(v))
      throw new ApiError(400, 'bad_request', `"${k}" must be an absolute file path`);
    return v;
  };
  const imagePath = path('image');
  const manifestPath = body.manifest === undefined ? manifestPathFor(imagePath) : path('manifest');
  const int = (k: string, min: number, max: number) => {
    const v = body[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      throw new ApiError(400, 'bad_request', `"${k}" must be an integer ${min}–${max}`);
    return v;
  };
  if (body.allowDowngrade !== undefined && typeof body.allowDowngrade !== 'boolean')
    throw new ApiError(400, 'bad_request', '"allowDowngrade" must be true or false');
  const chunkSize = int('chunkSize', 16, 4096);
  const trialMs = int('trialMs', 0, 600_000);
  try {
    return {
      image: readImageFile(imagePath),
      envelope: readManifestFile(manifestPath),
      ...(body.allowDowngrade === true ? { allowDowngrade: true } : {}),
      ...(chunkSize !== undefined ? { chunkSize } : {}),
      ...(trialMs !== undefined ? { trialMs } : {}),
    };
  } catch (e) {
    if (e instanceof ImageFileError) throw new ApiError(400, `image_${e.code}`, e.message);
    throw e;
  }
}

/** POST /v1/campaigns: {"items": [{"device": 33, "image": "/abs.bin", "manifest"?: …}], "dryRun"?, …}. */
function readCampaignRequest(
  body: Record<string, unknown>,
  address: (t: string) => number,
): CampaignStartRequest {
  if (!Array.isArray(body.items) || body.items.length === 0 || body.items.length > 254)
    throw new ApiError(400, 'bad_request', '"items" must be a list of 1–254 {device, image, manifest?}');
  const items = body.items.map((raw, i) => {
    const it = asObject(raw);
    const device = typeof it.device === 'number' ? it.device : address(String(it.device));
    if (!Number.isInteger(device) || device < 1 || device > 254)
      throw new ApiError(400, 'bad_request', `items[${i}].device must be an address 1–254`);
    const path = (k: string, v: unknown) => {
      if (typeof v !== 'string' || !isAbsolute(v))
        throw new ApiError(400, 'bad_request', `items[${i}].${k} must be an absolute file path`);
      return v;
    };
    const imagePath = path('image', it.image);
    return {
      device,
      imagePath,
      manifestPath: it.manifest === undefined ? manifestPathFor(imagePath) : path('manifest', it.manifest),
    };
  });
  if (new Set(items.map((i) => i.device)).size !== items.length)
    throw new ApiError(400, 'bad_request', 'a device appears twice in "items"');
  if (
    body.trialMs !== undefined &&
    (typeof body.trialMs !== 'number' ||
      !Number.isInteger(body.trialMs) ||
      body.trialMs < 0 ||
      body.trialMs > 600_000)
  )
    throw new ApiError(400, 'bad_request', '"trialMs" must be an integer 0–600000');
  return {
    items,
    ...(body.allowDowngrade === true ? { allowDowngrade: true } : {}),
    ...(typeof body.trialMs === 'number' ? { trialMs: body.trialMs } : {}),
  };
}

const MAX_TELEMETRY_LIMIT = 100_000;

function telemetryQuery(q: URLSearchParams, address: (t: string) => number): TelemetryQuery {
  const out: { -readonly [K in keyof TelemetryQuery]: TelemetryQuery[K] } = {};
  const get = (k: string) => {
    const v = q.get(k);
    return v === null || v === '' ? undefined : v;
  };
  const device = get('device');
  if (device !== undefined) out.device = address(device);
  const channel = get('channel');
  if (channel !== undefined) {
    out.channel = nonNegInt('channel', channel);
    if (out.channel > 0xffff) throw new ApiError(400, 'bad_request', '"channel" must be 0–65535');
  }
  const since = get('since');
  if (since !== undefined) out.sinceId = nonNegInt('since', since);
  const from = get('from');
  if (from !== undefined) out.fromUs = nonNegInt('from', from);
  const to = get('to');
  if (to !== undefined) out.toUs = nonNegInt('to', to);
  const limit = get('limit');
  if (limit !== undefined) {
    const n = nonNegInt('limit', limit);
    if (n < 1) throw new ApiError(400, 'bad_request', '"limit" must be at least 1');
    out.limit = Math.min(n, MAX_TELEMETRY_LIMIT);
  }
  return out;
}

/** `?limit=`: 1 or more, capped at MAX_EVENTS_LIMIT; undefined when absent. */
function limitParam(q: URLSearchParams): number | undefined {
  const limit = q.get('limit');
  if (limit === null || limit === '') return undefined;
  const n = nonNegInt('limit', limit);
  if (n < 1) throw new ApiError(400, 'bad_request', '"limit" must be at least 1');
  return Math.min(n, MAX_EVENTS_LIMIT);
}

/**
 * `GET /v1/events/stream`: live events as SSE. With `Last-Event-ID` (or `?since=`) the events after
 * that id are replayed first; events arriving meanwhile are buffered and de-duplicated by id.
 */
function stream(
  api: DaemonApi,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: Ctx,
  q: URLSearchParams,
  address: (t: string) => number,
): void {
  const deviceText = q.get('device');
  const device = deviceText ? address(deviceText) : undefined;
  const lastIdHeader = req.headers['last-event-id'];
  const lastIdText = (Array.isArray(lastIdHeader) ? lastIdHeader[0] : lastIdHeader) ?? q.get('since') ?? '';
  const sinceId = lastIdText.trim() === '' ? undefined : nonNegInt('Last-Event-ID', lastIdText.trim());

  let lastSent = sinceId ?? -1;
  let replaying = true;
  const pending: EventView[] = [];
  const write = (ev: EventView) => {
    if (ev.id <= lastSent) return;
    if (device !== undefined && ev.device !== device) return;
    lastSent = ev.id;
    res.write(formatSse({ id: ev.id, event: ev.kind, data: JSON.stringify(ev) }));
  };
  const unsubscribe = api.subscribe((ev) => {
    if (replaying) pending.push(ev);
    else write(ev);
  });
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(formatSseComment('mcubusd events'));
  ctx.streams.add(res);
  const heartbeat = setInterval(() => res.write(formatSseComment('heartbeat')), ctx.heartbeatMs);
  heartbeat.unref();
  const cleanup = () => {
    clearInterval(heartbeat);
    unsubscribe();
    ctx.streams.delete(res);
  };
  res.on('close', cleanup);
  res.on('error', cleanup);
  try {
    if (sinceId !== undefined) {
      const query: { sinceId: number; device?: number } = { sinceId };
      if (device !== undefined) query.device = device;
      for (const ev of [...api.events(query)].sort((a, b) => a.id - b.id)) write(ev);
    } else {
      // Without a replay point, start after the newest stored event.
      const newest = api.events({ limit: 1 })[0];
      if (newest) lastSent = Math.max(lastSent, newest.id);
    }
  } catch (e) {
    ctx.log('api: event replay failed', { error: String(e) });
  }
  replaying = false;
  for (const ev of pending.splice(0)) write(ev);
}
