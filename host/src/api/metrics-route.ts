import type { ServerResponse } from 'node:http';
import { ApiError } from './http-util.js';

/** What `GET /metrics` serves: a Prometheus exposition (host/src/metrics/metrics.ts renders it). */
export interface MetricsExposition {
  readonly contentType: string;
  render(): Promise<string>;
}

/**
 * `GET /metrics`, outside /v1: Prometheus scrapes a fixed path and reads text, not the API's JSON.
 * Behind the same bearer-token rule as every route on TCP (the caller checks it first).
 */
export async function serveMetrics(
  method: string,
  res: ServerResponse,
  metrics: MetricsExposition | undefined,
): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on /metrics`);
  }
  if (!metrics) throw new ApiError(404, 'not_found', 'this daemon serves no metrics');
  const body = await metrics.render();
  res.writeHead(200, {
    'content-type': metrics.contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(method === 'HEAD' ? undefined : body);
}
