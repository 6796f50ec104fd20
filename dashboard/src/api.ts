/**
 * The page's reads of the control API. Same origin as the page, so the daemon's cookie (set when the
 * page was opened with ?token=, see docs/dashboard.md) goes along on a token-protected listener.
 */
import type {
  DeviceView,
  EventView,
  HealthView,
  TelemetryView,
  TimeView,
  TraceRecord,
  UpdateStatusView,
} from './types.js';

/** A request the daemon refused or that did not reach it; `status` 0 means no answer at all. */
export class ApiRequestError extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ApiRequestError';
  }
}

async function get<T>(path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { accept: 'application/json' } });
  } catch (e) {
    throw new ApiRequestError(path, 0, 'unreachable', `daemon unreachable (${String(e)})`);
  }
  if (!res.ok) {
    // The API answers errors as {error: {code, message}} (docs/api.md).
    const body = (await res.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string } }
      | undefined;
    throw new ApiRequestError(
      path,
      res.status,
      body?.error?.code ?? 'http_error',
      body?.error?.message ?? `HTTP ${res.status}`,
    );
  }
  return (await res.json()) as T;
}

export const api = {
  devices: () => get<DeviceView[]>('/v1/devices'),
  health: () => get<HealthView[]>('/v1/health'),
  time: () => get<TimeView[]>('/v1/time'),
  events: (limit: number) => get<EventView[]>(`/v1/events?limit=${limit}`),
  telemetry: (sinceId: number | undefined, limit: number) =>
    get<TelemetryView[]>(
      sinceId === undefined
        ? `/v1/telemetry?limit=${limit}`
        : `/v1/telemetry?since=${sinceId}&limit=${limit}`,
    ),
  updates: () => get<UpdateStatusView[]>('/v1/updates'),
  traces: (limit: number) => get<TraceRecord[]>(`/v1/traces?limit=${limit}`),
  trace: (id: number) => get<TraceRecord>(`/v1/traces/${id}`),
};
