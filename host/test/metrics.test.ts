import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PromParseError, parseExposition, sampleValue } from '../../test/support/prom-text.js';
import type { DeviceView, StatusView } from '../src/api/daemon-api.js';
import { FakeDaemonApi } from '../src/api/fake-api.js';
import { type ApiServerHandle, startApiServer } from '../src/api/server.js';
import type { LinkCounters } from '../src/link/core.js';
import { counterKind } from '../src/metrics/counter-kinds.js';
import { createMetrics } from '../src/metrics/metrics.js';
import type { MetricsSource } from '../src/metrics/source.js';

/** A daemon's state as plain values: what the metrics read, without a daemon. */
function source(
  devices: DeviceView[],
  counters: Record<string, number>,
): MetricsSource & { answer(d: number, us: number): void } {
  const listeners = new Set<(d: number, us: number) => void>();
  const status: StatusView = {
    version: 't',
    startedAtMs: 0,
    uptimeMs: 1,
    buses: [{ name: 'can0', kind: 'can', state: 'lost', counters }],
    devices,
  };
  const link: LinkCounters = {
    total: {},
    byBus: {},
    byDst: { '33': { requests: 5, retried: 2, timeouts: 1 } },
  };
  return {
    status: () => status,
    health: () => [{ address: 33, state: 'zombie', via: null, crashLoop: true, resetCount: 4 }],
    time: () => [],
    updates: () => [],
    linkCounters: () => link,
    onAnswer: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    answer: (d, us) => {
      for (const l of listeners) l(d, us);
    },
  };
}

const device = (over: Partial<DeviceView>): DeviceView => ({
  address: 33,
  mode: 'app',
  bus: 'can0',
  via: null,
  hops: 0,
  firstSeenMs: 0,
  lastSeenMs: 1_700_000_000_000,
  ...over,
});

describe('metrics exposition', () => {
  it('escapes label values so that they parse back exactly', async () => {
    const name = 'a "quoted" \\ name\nsecond line';
    const m = createMetrics(source([device({ name })], {}), { version: '1.2.3', processMetrics: false });
    const parsed = parseExposition(await m.render());
    expect(parsed.get('mcubus_device_info')!.samples[0]!.labels.name).toBe(name);
    expect(sampleValue(parsed, 'mcubus_daemon_info', { version: '1.2.3' })).toBe(1);
    // Without process metrics, only the daemon's own.
    expect([...parsed.keys()].every((k) => k.startsWith('mcubus_'))).toBe(true);
  });

  it("reads counters from the daemon's state at each scrape, and times answers into the histogram", async () => {
    const counters: Record<string, number> = { rx_frames: 10, isotp_timeout_cr: 2, media_bad_dlc: 1 };
    const src = source([device({})], counters);
    const m = createMetrics(src, { version: 't', processMetrics: false });
    src.answer(33, 1500);
    src.answer(33, 30_000);
    let parsed = parseExposition(await m.render());
    expect(sampleValue(parsed, 'mcubus_bus_errors_total', { bus: 'can0', cause: 'isotp_timeout_cr' })).toBe(
      2,
    );
    expect(sampleValue(parsed, 'mcubus_bus_errors_total', { bus: 'can0', cause: 'media_bad_dlc' })).toBe(1);
    expect(sampleValue(parsed, 'mcubus_bus_activity_total', { bus: 'can0', counter: 'rx_frames' })).toBe(10);
    expect(sampleValue(parsed, 'mcubus_bus_state', { bus: 'can0', state: 'lost' })).toBe(1);
    expect(sampleValue(parsed, 'mcubus_device_request_retries_total', { device: '0x21' })).toBe(2);
    expect(
      sampleValue(parsed, 'mcubus_device_request_failures_total', { device: '0x21', cause: 'timeout' }),
    ).toBe(1);
    expect(sampleValue(parsed, 'mcubus_device_health_state', { device: '0x21', state: 'zombie' })).toBe(1);
    expect(sampleValue(parsed, 'mcubus_device_crash_loop', { device: '0x21' })).toBe(1);
    expect(sampleValue(parsed, 'mcubus_device_reset_count', { device: '0x21' })).toBe(4);
    expect(sampleValue(parsed, 'mcubus_device_rtt_seconds_count', { device: '0x21' })).toBe(2);
    expect(sampleValue(parsed, 'mcubus_device_rtt_seconds_bucket', { device: '0x21', le: '0.002' })).toBe(1);
    expect(sampleValue(parsed, 'mcubus_device_rtt_seconds_bucket', { device: '0x21', le: '0.05' })).toBe(2);
    expect(sampleValue(parsed, 'mcubus_device_rtt_seconds_sum', { device: '0x21' })).toBeCloseTo(0.0315, 9);
    // No traffic counter given: those metrics have no samples, rather than made-up zeros.
    expect(parsed.get('mcubus_bus_frames_total')?.samples ?? []).toHaveLength(0);

    counters.isotp_timeout_cr = 7;
    m.close();
    src.answer(33, 1000);
    parsed = parseExposition(await m.render());
    expect(sampleValue(parsed, 'mcubus_bus_errors_total', { bus: 'can0', cause: 'isotp_timeout_cr' })).toBe(
      7,
    );
    // Closed: no longer observing.
    expect(sampleValue(parsed, 'mcubus_device_rtt_seconds_count', { device: '0x21' })).toBe(2);
  });

  it('tells error counters from activity by name, whatever part of the transport counts them', () => {
    expect(counterKind('link_bad_crc')).toBe('error');
    expect(counterKind('bad_cobs')).toBe('error');
    expect(counterKind('line_write_error')).toBe('error');
    expect(counterKind('master_exception_2')).toBe('error');
    expect(counterKind('rx_repaired_bit')).toBe('error');
    expect(counterKind('line_rx_bytes')).toBe('activity');
    expect(counterKind('media_tx_frames')).toBe('activity');
    expect(counterKind('master_request_read')).toBe('activity');
    expect(counterKind('link_answers')).toBe('activity');
    expect(counterKind('link_bad_frames')).toBe('aggregate');
  });
});

describe('the exposition parser used by the tests', () => {
  it.each([
    ['a sample before its TYPE', 'x 1\n# TYPE x counter\n'],
    ['two TYPE lines', '# TYPE x counter\n# TYPE x gauge\nx 1\n'],
    ['interleaved metrics', '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx{a="b"} 2\n'],
    ['a bad escape in a label value', '# TYPE x gauge\nx{a="\\t"} 1\n'],
    ['an unterminated label value', '# TYPE x gauge\nx{a="b} 1\n'],
    ['a repeated series', '# TYPE x gauge\nx{a="b"} 1\nx{a="b"} 2\n'],
    ['a bad value', '# TYPE x gauge\nx one\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    [
      'a histogram whose +Inf is not its count',
      '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n',
    ],
    ['no final newline', '# TYPE x gauge\nx 1'],
  ])('rejects %s', (_, text) => {
    expect(() => parseExposition(text)).toThrow();
  });

  it('reads escapes, special values and histograms', () => {
    const m = parseExposition(
      '# HELP x a \\\\ b\\nc\n# TYPE x gauge\nx{a="q\\"\\\\\\n"} +Inf\nx{a="n"} Nan\n' +
        '# TYPE h histogram\nh_bucket{le="0.5"} 1\nh_bucket{le="+Inf"} 3\nh_sum 4.5\nh_count 3\n',
    );
    expect(m.get('x')!.help).toBe('a \\ b\nc');
    expect(sampleValue(m, 'x', { a: 'q"\\\n' })).toBe(Number.POSITIVE_INFINITY);
    expect(sampleValue(m, 'x', { a: 'n' })).toBeNaN();
    expect(sampleValue(m, 'h_count')).toBe(3);
    expect(() => parseExposition('# TYPE x gauge\nx{a=b} 1\n')).toThrow(PromParseError);
  });
});

describe('GET /metrics on the API server', () => {
  const dirs: string[] = [];
  const servers: ApiServerHandle[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const serve = async (withMetrics: boolean, tcp?: { host: string; port: number; token?: string }) => {
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-metrics-route-'));
    dirs.push(dir);
    const metrics = { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: async () => 'm 1\n' };
    const s = await startApiServer(new FakeDaemonApi(), {
      socketPath: join(dir, 'api.sock'),
      ...(withMetrics ? { metrics } : {}),
      ...(tcp ? { tcp } : {}),
    });
    servers.push(s);
    return { socketPath: join(dir, 'api.sock'), port: s.tcpPort };
  };
  const call = (target: object, method: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; type: string | undefined; text: string }>((resolve, reject) => {
      const req = request({ ...target, path: '/metrics', method, headers }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text }),
        );
      });
      req.on('error', reject);
      req.end();
    });

  it('serves the exposition with its content type on the unix socket; only GET and HEAD', async () => {
    const { socketPath } = await serve(true);
    expect(await call({ socketPath }, 'GET')).toEqual({
      status: 200,
      type: 'text/plain; version=0.0.4; charset=utf-8',
      text: 'm 1\n',
    });
    expect((await call({ socketPath }, 'HEAD')).text).toBe('');
    const post = await call({ socketPath }, 'POST');
    expect(post.status).toBe(405);
    expect(JSON.parse(post.text).error.code).toBe('method_not_allowed');
  });

  it('is 404 on a server given no metrics', async () => {
    const { socketPath } = await serve(false);
    expect((await call({ socketPath }, 'GET')).status).toBe(404);
  });

  it('needs the bearer token on TCP like every route', async () => {
    const { port } = await serve(true, { host: '127.0.0.1', port: 0, token: 's3cret' });
    const target = { host: '127.0.0.1', port };
    expect((await call(target, 'GET')).status).toBe(401);
    expect((await call(target, 'GET', { authorization: 'Bearer wrong' })).status).toBe(401);
    const ok = await call(target, 'GET', { authorization: 'Bearer s3cret' });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('m 1\n');
  });
});
