import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type {
  CampaignPlanItem,
  CampaignView,
  DeviceView,
  EventView,
  HealthView,
  PingResult,
  StatusView,
  TelemetryQuery,
  TelemetryView,
  TimeView,
  UpdateStatusView,
} from '../api/daemon-api.js';
import { SseParser } from '../api/sse.js';
import type { TraceQuery, TraceRecord } from '../trace/trace-record.js';

export type ApiClientOptions = { socketPath: string } | { url: string; token?: string };

export type HealthDetail = { health: HealthView; history: EventView[] };

export type RequestResult = { ok: boolean; answer?: { type: string; body: unknown }; error?: string };

/** The daemon could not be reached (no socket, connection refused). */
export class DaemonUnreachableError extends Error {
  constructor(
    message: string,
    readonly target: string,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'DaemonUnreachableError';
  }
}

/** The daemon answered with an error status (`{error: {code, message}}`). */
export class ApiResponseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiResponseError';
  }
}

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EHOSTUNREACH', 'ENOTFOUND']);

/** Client of the mcubusd control API over a Unix socket (default) or HTTP(S). */
export class ApiClient {
  constructor(private readonly opts: ApiClientOptions) {}

  /** Where requests go, for messages. */
  get target(): string {
    return 'socketPath' in this.opts ? this.opts.socketPath : this.opts.url;
  }

  status(): Promise<StatusView> {
    return this.call('GET', '/v1/status');
  }
  devices(): Promise<DeviceView[]> {
    return this.call('GET', '/v1/devices');
  }
  device(address: number): Promise<DeviceView> {
    return this.call('GET', `/v1/devices/${address}`);
  }
  events(q: { sinceId?: number; device?: number; limit?: number } = {}): Promise<EventView[]> {
    return this.call('GET', `/v1/events${query({ since: q.sinceId, device: q.device, limit: q.limit })}`);
  }
  health(): Promise<HealthView[]> {
    return this.call('GET', '/v1/health');
  }
  /** One device's health and its health events, newest first (`limit` of them at most). */
  healthOf(address: number, limit?: number): Promise<HealthDetail> {
    return this.call('GET', `/v1/health/${address}${query({ limit })}`);
  }
  startUpdate(
    address: number,
    body: {
      image: string;
      manifest?: string;
      allowDowngrade?: boolean;
      chunkSize?: number;
      trialMs?: number;
    },
  ): Promise<{ started: boolean }> {
    return this.call('POST', `/v1/devices/${address}/update`, body);
  }
  startCampaign(body: {
    items: { device: number; image: string; manifest?: string }[];
    allowDowngrade?: boolean;
    trialMs?: number;
    dryRun?: boolean;
  }): Promise<{ id?: number; plan: CampaignPlanItem[] }> {
    return this.call('POST', '/v1/campaigns', body);
  }
  campaigns(): Promise<CampaignView[]> {
    return this.call('GET', '/v1/campaigns');
  }
  updates(): Promise<UpdateStatusView[]> {
    return this.call('GET', '/v1/updates');
  }
  cancelUpdate(address: number): Promise<{ cancelled: boolean }> {
    return this.call('POST', `/v1/devices/${address}/update/cancel`, {});
  }
  time(): Promise<TimeView[]> {
    return this.call('GET', '/v1/time');
  }
  telemetry(q: TelemetryQuery = {}): Promise<TelemetryView[]> {
    return this.call(
      'GET',
      `/v1/telemetry${query({ device: q.device, channel: q.channel, since: q.sinceId, from: q.fromUs, to: q.toUs, limit: q.limit })}`,
    );
  }
  traces(q: TraceQuery = {}): Promise<TraceRecord[]> {
    return this.call(
      'GET',
      `/v1/traces${query({
        device: q.device,
        bus: q.bus,
        type: q.type,
        outcome: q.outcome,
        problems: q.problems ? 1 : undefined,
        after: q.afterId,
        limit: q.limit,
      })}`,
    );
  }
  trace(id: number): Promise<TraceRecord> {
    return this.call('GET', `/v1/traces/${id}`);
  }
  ping(address: number, timeoutMs?: number): Promise<PingResult> {
    return this.call('POST', `/v1/devices/${address}/ping`, timeoutMs === undefined ? {} : { timeoutMs });
  }
  request(
    address: number,
    message: { type: string; body: unknown },
    timeoutMs?: number,
  ): Promise<RequestResult> {
    const body: Record<string, unknown> = { type: message.type, body: message.body };
    if (timeoutMs !== undefined) body.timeoutMs = timeoutMs;
    return this.call('POST', `/v1/devices/${address}/request`, body);
  }

  /**
   * Follows `GET /v1/events/stream`, calling `onEvent` for each event, until `signal` aborts (resolves)
   * or the daemon ends the stream (resolves). `lastEventId` replays the events after it first.
   */
  async streamEvents(
    onEvent: (ev: EventView) => void,
    opts: { lastEventId?: number; device?: number; signal?: AbortSignal; onOpen?: () => void } = {},
  ): Promise<void> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (opts.lastEventId !== undefined) headers['last-event-id'] = String(opts.lastEventId);
    const res = await this.open('GET', `/v1/events/stream${query({ device: opts.device })}`, headers);
    if (res.statusCode !== 200) throw await responseError(res);
    opts.onOpen?.();
    const parser = new SseParser();
    await new Promise<void>((resolve, reject) => {
      const stop = () => {
        res.destroy();
        resolve();
      };
      if (opts.signal?.aborted) return stop();
      opts.signal?.addEventListener('abort', stop, { once: true });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const msg of parser.push(chunk)) {
          try {
            onEvent(JSON.parse(msg.data) as EventView);
          } catch (e) {
            res.destroy();
            reject(e);
            return;
          }
        }
      });
      res.on('end', resolve);
      res.on('close', resolve);
      res.on('error', (e) => (opts.signal?.aborted ? resolve() : reject(e)));
    });
  }

  /**
   * Follows `GET /v1/capture`: calls `onChunk` with the pcapng bytes as they come, until `signal`
   * aborts ('aborted') or the daemon ends the stream ('ended': `count` packets sent, or it stopped).
   */
  async captureStream(
    q: { buses: readonly string[]; count?: number },
    onChunk: (chunk: Uint8Array) => void,
    opts: { signal?: AbortSignal; onOpen?: () => void } = {},
  ): Promise<'ended' | 'aborted'> {
    const params = new URLSearchParams();
    for (const b of q.buses) params.append('bus', b);
    if (q.count !== undefined) params.set('count', String(q.count));
    const qs = params.toString();
    const res = await this.open('GET', `/v1/capture${qs ? `?${qs}` : ''}`, {
      accept: 'application/x-pcapng',
    });
    if (res.statusCode !== 200) throw await responseError(res);
    opts.onOpen?.();
    return new Promise((resolve, reject) => {
      const stop = () => {
        res.destroy();
        resolve('aborted');
      };
      if (opts.signal?.aborted) return stop();
      opts.signal?.addEventListener('abort', stop, { once: true });
      res.on('data', (chunk: Buffer) => onChunk(chunk));
      res.on('end', () => resolve('ended'));
      res.on('close', () => resolve(opts.signal?.aborted ? 'aborted' : 'ended'));
      res.on('error', (e) => (opts.signal?.aborted ? resolve('aborted') : reject(e)));
    });
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const res = await this.open(method, path, headers, payload);
    if ((res.statusCode ?? 500) >= 400) throw await responseError(res);
    const text = await readAll(res);
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new ApiResponseError(
        res.statusCode ?? 0,
        'bad_response',
        `daemon sent invalid JSON: ${(e as Error).message}`,
      );
    }
  }

  private open(
    method: string,
    path: string,
    headers: Record<string, string>,
    payload?: string,
  ): Promise<IncomingMessage> {
    let options: RequestOptions;
    let send = httpRequest;
    if ('socketPath' in this.opts) {
      options = { socketPath: this.opts.socketPath, path, method, headers };
    } else {
      const base = new URL(this.opts.url);
      if (base.protocol === 'https:') send = httpsRequest;
      else if (base.protocol !== 'http:') throw new Error(`unsupported URL scheme ${base.protocol}`);
      if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
      const prefix = base.pathname.replace(/\/+$/, '');
      options = {
        host: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port || (base.protocol === 'https:' ? 443 : 80),
        path: `${prefix}${path}`,
        method,
        headers,
      };
    }
    return new Promise((resolve, reject) => {
      const req = send(options, resolve);
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code && UNREACHABLE.has(e.code)) {
          reject(new DaemonUnreachableError(`${e.code}: ${e.message}`, this.target, e));
        } else reject(e);
      });
      req.end(payload);
    });
  }
}

function query(params: Record<string, number | string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function responseError(res: IncomingMessage): Promise<ApiResponseError> {
  const status = res.statusCode ?? 0;
  const text = await readAll(res);
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message)
      return new ApiResponseError(status, parsed.error.code ?? 'error', parsed.error.message);
  } catch {}
  return new ApiResponseError(status, 'http_error', `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`);
}
