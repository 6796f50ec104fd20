import type { ServerResponse } from 'node:http';
import type { DaemonApi } from './daemon-api.js';
import { ApiError } from './http-util.js';

/** Media type of a pcapng stream (IANA registration draft; what Wireshark's own tools send). */
export const PCAPNG_MEDIA_TYPE = 'application/x-pcapng';

/**
 * A client that reads slower than the buses produce is not allowed to grow the daemon's memory:
 * beyond this many buffered bytes packets are dropped (counted in the `x-mcubus-dropped` trailer).
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

const MAX_COUNT = 100_000_000;

/**
 * `GET /v1/capture?bus=NAME[&bus=NAME…][&count=N]`: a live pcapng stream of those buses (every
 * capturable bus without `bus`), until the client disconnects, the daemon stops, or N packets were
 * sent. docs/api.md and docs/observability.md ("Captures").
 */
export function captureRoute(
  api: DaemonApi,
  res: ServerResponse,
  q: URLSearchParams,
  streams: Set<ServerResponse>,
): void {
  if (!api.capture) throw new ApiError(501, 'not_supported', 'this daemon cannot capture its buses');
  const buses = q.getAll('bus').filter((b) => b !== '');
  const countText = q.get('count');
  let count: number | undefined;
  if (countText !== null && countText !== '') {
    count = /^[0-9]+$/.test(countText) ? Number(countText) : Number.NaN;
    if (!(count >= 1 && count <= MAX_COUNT)) {
      throw new ApiError(400, 'bad_request', `"count" must be an integer from 1 to ${MAX_COUNT}`);
    }
  }
  let dropped = 0;
  let sent = 0;
  let started = false;
  const finish = () => {
    session?.close();
    streams.delete(res);
    if (!res.writableEnded) {
      res.addTrailers({ 'x-mcubus-dropped': String(dropped) });
      res.end();
    }
  };
  const opened = api.capture(buses, {
    write(chunk, packets) {
      if (!started) {
        res.writeHead(200, {
          'content-type': PCAPNG_MEDIA_TYPE,
          'cache-control': 'no-store',
          'x-accel-buffering': 'no',
          trailer: 'x-mcubus-dropped',
        });
        started = true;
      }
      if (res.writableEnded || (count !== undefined && sent >= count)) return;
      if (packets > 0 && res.writableLength > MAX_BUFFERED_BYTES) {
        dropped += packets;
        return;
      }
      res.write(chunk);
      sent += packets;
      if (count !== undefined && sent >= count) queueMicrotask(finish);
    },
  });
  if (!opened.ok) {
    const status = opened.error.code === 'unknown_bus' ? 404 : 409;
    throw new ApiError(status, opened.error.code, opened.error.message);
  }
  const session = opened.value;
  streams.add(res);
  res.on('close', finish);
  res.on('error', finish);
}
