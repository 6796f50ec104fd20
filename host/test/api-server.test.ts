import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ApiTarget, httpCall } from '../../test/support/http-call.js';
import { FakeDaemonApi } from '../src/api/fake-api.js';
import { isLoopbackHost, parseAddress, safeEqual } from '../src/api/http-util.js';
import { type ApiServerHandle, startApiServer } from '../src/api/server.js';
import { type SseMessage, SseParser } from '../src/api/sse.js';

/** A request to the API under test (a fresh connection each). */
const call = (
  target: ApiTarget,
  method: string,
  path: string,
  opts: { body?: string; headers?: Record<string, string> } = {},
) => httpCall(target, method, path, opts);

/** Opens the SSE stream; `next()` waits for the next message. */
function openStream(target: ApiTarget, headers: Record<string, string> = {}, path = '/v1/events/stream') {
  const parser = new SseParser();
  const queue: SseMessage[] = [];
  const waiters: ((m: SseMessage) => void)[] = [];
  let raw = '';
  let close = () => {};
  const opened = new Promise<{ status: number; contentType: string | undefined }>((resolve, reject) => {
    const req = request({ ...target, method: 'GET', path, headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        raw += c;
        for (const m of parser.push(c)) {
          const w = waiters.shift();
          if (w) w(m);
          else queue.push(m);
        }
      });
      resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] });
    });
    req.on('error', () => {});
    req.on('error', reject);
    req.end();
    close = () => req.destroy();
  });
  return {
    opened,
    raw: () => raw,
    close: () => close(),
    next: (timeoutMs = 2000) =>
      new Promise<SseMessage>((resolve, reject) => {
        const m = queue.shift();
        if (m) return resolve(m);
        const t = setTimeout(() => reject(new Error('no SSE message in time')), timeoutMs);
        waiters.push((msg) => {
          clearTimeout(t);
          resolve(msg);
        });
      }),
  };
}

const waitFor = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

let dir: string;
let socketPath: string;
let api: FakeDaemonApi;
let server: ApiServerHandle | undefined;
const logs: string[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcubus-api-'));
  socketPath = join(dir, 'mcubusd.sock');
  api = new FakeDaemonApi();
  server = await startApiServer(api, { socketPath, heartbeatMs: 100, log: (m) => logs.push(m) });
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('routes', () => {
  it('GET /v1/status', async () => {
    const r = await call({ socketPath }, 'GET', '/v1/status');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const s = r.json as { version: string; devices: unknown[]; buses: unknown[] };
    expect(s.version).toBe('0.1.0');
    expect(s.devices).toHaveLength(2);
    expect(s.buses).toHaveLength(2);
  });

  it('GET /v1/devices and /v1/devices/:address in decimal and hex', async () => {
    const all = await call({ socketPath }, 'GET', '/v1/devices');
    expect((all.json as { address: number }[]).map((d) => d.address)).toEqual([0x10, 0x21]);
    for (const a of ['33', '0x21', '0X21']) {
      const one = await call({ socketPath }, 'GET', `/v1/devices/${a}`);
      expect(one.status).toBe(200);
      expect((one.json as { name: string }).name).toBe('motor-left');
    }
  });

  it('unknown device → 404, bad address → 400, unknown route → 404', async () => {
    const r = await call({ socketPath }, 'GET', '/v1/devices/0x42');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: { code: 'unknown_device', message: expect.any(String) } });
    const bad = await call({ socketPath }, 'GET', '/v1/devices/zz');
    expect(bad.status).toBe(400);
    expect((bad.json as { error: { code: string } }).error.code).toBe('bad_address');
    expect((await call({ socketPath }, 'GET', '/v1/devices/256')).status).toBe(400);
    // `/` is the dashboard's page (api-dashboard.test.ts).
    for (const p of ['/v2/status', '/v1/nope', '/v1/devices/1/2/3', '/uix']) {
      const n = await call({ socketPath }, 'GET', p);
      expect(n.status, p).toBe(404);
      expect((n.json as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('wrong method → 405 with Allow', async () => {
    const r = await call({ socketPath }, 'POST', '/v1/status', { body: '{}' });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET');
    const p = await call({ socketPath }, 'GET', '/v1/devices/0x21/ping');
    expect(p.status).toBe(405);
    expect(p.headers.allow).toBe('POST');
  });

  it('GET /v1/events with since, device and limit', async () => {
    api.emit({ kind: 'device.seen', severity: 'info', message: 'a', device: 0x21 });
    api.emit({ kind: 'bus.lost', severity: 'warning', message: 'b', bus: 'can0' });
    api.emit({ kind: 'device.seen', severity: 'info', message: 'c', device: 0x21 });
    const newest = await call({ socketPath }, 'GET', '/v1/events?limit=2');
    expect((newest.json as { id: number }[]).map((e) => e.id)).toEqual([3, 2]);
    const since = await call({ socketPath }, 'GET', '/v1/events?since=1');
    expect((since.json as { id: number }[]).map((e) => e.id)).toEqual([2, 3]);
    const dev = await call({ socketPath }, 'GET', '/v1/events?device=0x21');
    expect((dev.json as { id: number }[]).map((e) => e.id)).toEqual([3, 1]);
    expect((await call({ socketPath }, 'GET', '/v1/events?limit=abc')).status).toBe(400);
    expect((await call({ socketPath }, 'GET', '/v1/events?limit=0')).status).toBe(400);
    expect((await call({ socketPath }, 'GET', '/v1/events?device=x')).status).toBe(400);
  });

  it('POST ping with and without a body', async () => {
    const r = await call({ socketPath }, 'POST', '/v1/devices/0x21/ping', { body: '{"timeoutMs":500}' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true, rttMs: 2.5, attempts: 1 });
    expect(api.calls.at(-1)).toEqual({ method: 'ping', args: [0x21, 500] });
    const empty = await call({ socketPath }, 'POST', '/v1/devices/16/ping');
    expect(empty.status).toBe(200);
    expect(api.calls.at(-1)).toEqual({ method: 'ping', args: [0x10, undefined] });
    const bad = await call({ socketPath }, 'POST', '/v1/devices/16/ping', { body: '{"timeoutMs":-1}' });
    expect(bad.status).toBe(400);
  });

  it('POST request forwards {type, body, timeoutMs}', async () => {
    const r = await call({ socketPath }, 'POST', '/v1/devices/0x21/request', {
      body: JSON.stringify({ type: 'get_info', body: { x: 1 }, timeoutMs: 1000 }),
    });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ ok: true, answer: { type: 'get_info_ack', body: { x: 1 } } });
    expect(api.calls.at(-1)).toEqual({
      method: 'request',
      args: [0x21, { type: 'get_info', body: { x: 1 } }, 1000],
    });
    const noType = await call({ socketPath }, 'POST', '/v1/devices/0x21/request', { body: '{"body":{}}' });
    expect(noType.status).toBe(400);
    const arr = await call({ socketPath }, 'POST', '/v1/devices/0x21/request', { body: '[1]' });
    expect(arr.status).toBe(400);
  });

  it('bad JSON → 400 with the parse error; a throwing daemon → 500; the server keeps serving', async () => {
    const r = await call({ socketPath }, 'POST', '/v1/devices/0x21/request', { body: '{"type": ' });
    expect(r.status).toBe(400);
    const e = (r.json as { error: { code: string; message: string } }).error;
    expect(e.code).toBe('bad_json');
    expect(e.message).toMatch(/not valid JSON: .+/);
    const boom = await call({ socketPath }, 'POST', '/v1/devices/0x21/request', {
      body: '{"type":"explode","body":{}}',
    });
    expect(boom.status).toBe(500);
    expect((boom.json as { error: { message: string } }).error.message).toBe('boom');
    expect((await call({ socketPath }, 'GET', '/v1/status')).status).toBe(200);
  });

  it('a too large body → 413', async () => {
    const r = await call({ socketPath }, 'POST', '/v1/devices/0x21/request', {
      body: JSON.stringify({ type: 'x', body: 'a'.repeat(70_000) }),
    });
    expect(r.status).toBe(413);
  });
});

describe('time and telemetry routes', () => {
  it('GET /v1/time lists every device clock; /v1/time/:address one of them', async () => {
    const r = await call({ socketPath }, 'GET', '/v1/time');
    expect(r.status).toBe(200);
    const list = r.json as { address: number; method: string; boundUs: number }[];
    expect(list.map((t) => [t.address, t.method])).toEqual([
      [0x10, 'direct'],
      [0x21, 'via_gateway'],
    ]);
    const one = await call({ socketPath }, 'GET', '/v1/time/0x21');
    expect(one.json).toMatchObject({ address: 0x21, gateway: 0x10, boundUs: 31.9 });
    const missing = await call({ socketPath }, 'GET', '/v1/time/0x55');
    expect(missing.status).toBe(404);
    expect((missing.json as { error: { code: string } }).error.code).toBe('unknown_device');
  });

  it('GET /v1/telemetry passes its filters through, validated', async () => {
    const r = await call({ socketPath }, 'GET', '/v1/telemetry?device=0x21&channel=1&limit=2&from=5&to=9');
    expect(r.status).toBe(200);
    expect(api.calls.at(-1)).toEqual({
      method: 'telemetry',
      args: [{ device: 0x21, channel: 1, limit: 2, fromUs: 5, toUs: 9 }],
    });
    const rows = r.json as { device: number; id: number }[];
    expect(rows.map((x) => [x.device, x.id])).toEqual([
      [0x21, 6],
      [0x21, 4],
    ]);
    for (const q of ['channel=70000', 'limit=0', 'since=-1', 'device=zz', 'from=1.5']) {
      const bad = await call({ socketPath }, 'GET', `/v1/telemetry?${q}`);
      expect(bad.status, q).toBe(400);
    }
    const post = await call({ socketPath }, 'POST', '/v1/telemetry');
    expect(post.status).toBe(405);
  });
});

describe('update routes', () => {
  it('POST /v1/devices/:address/update reads the files the body names; GET /v1/updates lists', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mcubus-api-upd-'));
    try {
      const img = join(d, 'fw.bin');
      writeFileSync(img, Buffer.alloc(100, 3));
      writeFileSync(`${img}.manifest`, Buffer.from([1, 2, 3]));
      const post = (address: string, body: unknown) =>
        call({ socketPath }, 'POST', `/v1/devices/${address}/update`, { body: JSON.stringify(body) });
      const r = await post('0x21', { image: img, trialMs: 100 });
      expect(r.status).toBe(202);
      expect(api.calls.at(-1)).toEqual({
        method: 'startUpdate',
        args: [0x21, { image: 100, envelope: 3, trialMs: 100 }],
      });
      for (const [body, code] of [
        [{ image: 'fw.bin' }, 'bad_request'],
        [{ image: join(d, 'missing.bin') }, 'image_unreadable'],
        [{ image: img, chunkSize: 5 }, 'bad_request'],
        [{ image: img, allowDowngrade: 'yes' }, 'bad_request'],
      ] as const) {
        const bad = await post('0x21', body);
        expect(bad.status, JSON.stringify(body)).toBe(400);
        expect((bad.json as { error: { code: string } }).error.code).toBe(code);
      }
      expect((await post('0x55', { image: img })).status).toBe(404);
      const list = await call({ socketPath }, 'GET', '/v1/updates');
      expect((list.json as { device: number; phase: string }[]).map((u) => [u.device, u.phase])).toEqual([
        [0x21, 'done'],
      ]);
      expect(
        (await call({ socketPath }, 'POST', '/v1/devices/0x21/update/cancel', { body: '{}' })).status,
      ).toBe(200);
      expect(
        (await call({ socketPath }, 'POST', '/v1/devices/0x30/update/cancel', { body: '{}' })).status,
      ).toBe(404);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('health routes', () => {
  it("GET /v1/health lists every device's health", async () => {
    const r = await call({ socketPath }, 'GET', '/v1/health');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const list = r.json as { address: number; state: string; via: number | null; crashLoop: boolean }[];
    expect(list.map((h) => [h.address, h.state])).toEqual([
      [0x10, 'up'],
      [0x21, 'unreachable'],
      [0x22, 'suspect'],
      [0x23, 'down'],
      [0x30, 'zombie'],
    ]);
    expect(list[1]!.via).toBe(0x10);
    expect(list[4]!.crashLoop).toBe(true);
  });

  it('GET /v1/health/:address → health and history newest first, decimal or hex', async () => {
    const r = await call({ socketPath }, 'GET', '/v1/health/0x30');
    expect(r.status).toBe(200);
    const body = r.json as {
      health: { address: number; state: string };
      history: { atMs: number; kind: string }[];
    };
    expect(body.health).toMatchObject({ address: 0x30, state: 'zombie', resetCount: 5 });
    expect(body.history).toHaveLength(4);
    expect(body.history.every((e) => e.kind === 'health.state' || e.kind === 'health.reset')).toBe(true);
    const times = body.history.map((e) => e.atMs);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect((await call({ socketPath }, 'GET', '/v1/health/48')).json).toEqual(body);
  });

  it('?limit= caps the history and is validated', async () => {
    const r = await call({ socketPath }, 'GET', '/v1/health/0x30?limit=2');
    expect(r.status).toBe(200);
    expect((r.json as { history: { id: number }[] }).history.map((e) => e.id)).toEqual([9004, 9003]);
    expect(api.calls.at(-1)).toEqual({ method: 'healthOf', args: [0x30, 2] });
    await call({ socketPath }, 'GET', '/v1/health/0x30');
    expect(api.calls.at(-1)).toEqual({ method: 'healthOf', args: [0x30, undefined] });
    for (const q of ['0', 'x', '-1']) {
      const bad = await call({ socketPath }, 'GET', `/v1/health/0x30?limit=${q}`);
      expect(bad.status, q).toBe(400);
      expect((bad.json as { error: { code: string } }).error.code).toBe('bad_request');
    }
  });

  it('an emitted health event joins the history', async () => {
    api.emit({ kind: 'health.state', severity: 'info', message: 'sensor down → up', device: 0x23 });
    api.emit({ kind: 'device.seen', severity: 'info', message: 'not a health event', device: 0x23 });
    const r = await call({ socketPath }, 'GET', '/v1/health/0x23');
    const history = (r.json as { history: { message: string }[] }).history;
    expect(history.map((e) => e.message)).toEqual([
      'sensor down → up',
      'sensor suspect → down',
      'sensor up → suspect',
    ]);
  });

  it('unknown device → 404 JSON error, bad address → 400, wrong method → 405', async () => {
    const r = await call({ socketPath }, 'GET', '/v1/health/0x42');
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    expect(r.json).toEqual({ error: { code: 'unknown_device', message: 'no device at address 66' } });
    expect((await call({ socketPath }, 'GET', '/v1/health/zz')).status).toBe(400);
    expect((await call({ socketPath }, 'GET', '/v1/health/1/x')).status).toBe(404);
    const m = await call({ socketPath }, 'POST', '/v1/health');
    expect(m.status).toBe(405);
    expect(m.headers.allow).toBe('GET');
  });
});

describe('SSE stream', () => {
  it('delivers a live event with id/event/data lines, and heartbeats', async () => {
    const s = openStream({ socketPath });
    const { status, contentType } = await s.opened;
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    await waitFor(() => api.subscriberCount === 1);
    const ev = api.emit({ kind: 'device.seen', severity: 'info', message: 'hello', device: 0x21 });
    const m = await s.next();
    expect(m.id).toBe(String(ev.id));
    expect(m.event).toBe('device.seen');
    expect(JSON.parse(m.data)).toEqual(ev);
    expect(s.raw()).toContain(`id: ${ev.id}\nevent: device.seen\ndata: {`);
    await waitFor(() => s.raw().includes(': heartbeat\n\n'));
    s.close();
    await waitFor(() => api.subscriberCount === 0);
  });

  it('replays the events after Last-Event-ID, then continues live', async () => {
    for (const m of ['a', 'b', 'c']) api.emit({ kind: 'k', severity: 'info', message: m });
    const s = openStream({ socketPath }, { 'Last-Event-ID': '1' });
    await s.opened;
    expect((await s.next()).id).toBe('2');
    expect((await s.next()).id).toBe('3');
    await waitFor(() => api.subscriberCount === 1);
    api.emit({ kind: 'k', severity: 'info', message: 'd' });
    expect((await s.next()).id).toBe('4');
    s.close();
  });

  it('filters by device and rejects a bad Last-Event-ID', async () => {
    const s = openStream({ socketPath }, {}, '/v1/events/stream?device=0x10');
    await s.opened;
    await waitFor(() => api.subscriberCount === 1);
    api.emit({ kind: 'k', severity: 'info', message: 'other', device: 0x21 });
    api.emit({ kind: 'k', severity: 'info', message: 'mine', device: 0x10 });
    expect(JSON.parse((await s.next()).data).message).toBe('mine');
    s.close();
    const bad = await call({ socketPath }, 'GET', '/v1/events/stream', { headers: { 'Last-Event-ID': 'x' } });
    expect(bad.status).toBe(400);
  });

  it('close() ends open streams', async () => {
    const s = openStream({ socketPath });
    await s.opened;
    await server!.close();
    server = undefined;
    expect(api.subscriberCount).toBe(0);
  });
});

describe('socket', () => {
  it('has mode 0660', () => {
    expect(statSync(socketPath).mode & 0o777).toBe(0o660);
  });

  it('honours socketMode', async () => {
    const p = join(dir, 'other.sock');
    const s = await startApiServer(api, { socketPath: p, socketMode: 0o600 });
    expect(statSync(p).mode & 0o777).toBe(0o600);
    await s.close();
  });

  it('replaces a stale socket file left by a dead daemon', async () => {
    const p = join(dir, 'stale.sock');
    // A socket file nobody listens on: a process that listened on it and died without cleaning up.
    spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(statSync(p).isSocket()).toBe(true);
    const s = await startApiServer(api, { socketPath: p });
    expect((await call({ socketPath: p }, 'GET', '/v1/status')).status).toBe(200);
    await s.close();
  });

  it('refuses a socket a live daemon answers on', async () => {
    await expect(startApiServer(new FakeDaemonApi(), { socketPath })).rejects.toThrow(/already listening/);
    expect((await call({ socketPath }, 'GET', '/v1/status')).status).toBe(200);
  });

  it('refuses to replace a file that is not a socket', async () => {
    const p = join(dir, 'file');
    writeFileSync(p, 'x');
    await expect(startApiServer(api, { socketPath: p })).rejects.toThrow(/not a socket/);
  });
});

describe('TCP', () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

  it('requires a bearer token on a non-loopback bind host', async () => {
    // With an external address we bind and connect to it; otherwise the rule is about the bind host,
    // so bind 0.0.0.0 and connect via 127.0.0.1.
    const host = external ?? '0.0.0.0';
    const connectHost = external ?? '127.0.0.1';
    await expect(
      startApiServer(api, { socketPath: join(dir, 'a.sock'), tcp: { host, port: 0 } }),
    ).rejects.toThrow(/requires a token/);
    const s = await startApiServer(api, {
      socketPath: join(dir, 'b.sock'),
      tcp: { host, port: 0, token: 's3cret' },
    });
    const t = { host: connectHost, port: s.tcpPort! };
    expect((await call(t, 'GET', '/v1/status')).status).toBe(401);
    expect((await call(t, 'GET', '/v1/status', { headers: { authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    expect((await call(t, 'GET', '/v1/nope')).status).toBe(401);
    const ok = await call(t, 'GET', '/v1/status', { headers: { authorization: 'Bearer s3cret' } });
    expect(ok.status).toBe(200);
    // The Unix socket is guarded by its file mode, not the token.
    expect((await call({ socketPath: join(dir, 'b.sock') }, 'GET', '/v1/status')).status).toBe(200);
    await s.close();
  });

  it('allows loopback TCP without a token', async () => {
    const s = await startApiServer(api, {
      socketPath: join(dir, 'c.sock'),
      tcp: { host: '127.0.0.1', port: 0 },
    });
    expect(s.tcpPort).toBeGreaterThan(0);
    expect((await call({ host: '127.0.0.1', port: s.tcpPort! }, 'GET', '/v1/status')).status).toBe(200);
    await s.close();
  });
});

describe('helpers', () => {
  it('parseAddress', () => {
    expect(parseAddress('0x21')).toBe(0x21);
    expect(parseAddress('255')).toBe(255);
    expect(parseAddress('256')).toBeUndefined();
    expect(parseAddress('0x100')).toBeUndefined();
    expect(parseAddress('-1')).toBeUndefined();
    expect(parseAddress('1e2')).toBeUndefined();
  });
  it('isLoopbackHost', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'board.local']) expect(isLoopbackHost(h), h).toBe(false);
  });
  it('safeEqual', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
  it('SseParser handles split chunks, CRLF and multi-line data', () => {
    const p = new SseParser();
    expect(p.push('id: 7\r\nevent: x\r\ndata: a\r')).toEqual([]);
    expect(p.push('\ndata: b\r\n\r\n: comment\n\n')).toEqual([{ id: '7', event: 'x', data: 'a\nb' }]);
    expect(p.lastEventId).toBe('7');
  });
});
