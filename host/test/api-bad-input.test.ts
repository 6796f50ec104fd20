import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCall } from '../../test/support/http-call.js';
import { FakeDaemonApi } from '../src/api/fake-api.js';
import { type ApiServerHandle, startApiServer } from '../src/api/server.js';

/**
 * Bad input at the control API (issue 11): malformed requests, huge bodies and slow clients get a
 * 4xx within bounded time, and the daemon keeps serving other clients meanwhile.
 */
const LIMITS = { headersTimeoutMs: 600, requestTimeoutMs: 1500 };
let dir: string;
let server: ApiServerHandle;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcubus-api-bad-'));
  server = await startApiServer(new FakeDaemonApi(), {
    socketPath: join(dir, 'mcubusd.sock'),
    tcp: { host: '127.0.0.1', port: 0 },
    limits: LIMITS,
  });
  port = server.tcpPort!;
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One request on a fresh connection (a reused socket would be timed from its previous response). */
const call = (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
  // The server may answer (413) and close before the whole body is written.
  httpCall({ host: '127.0.0.1', port }, method, path, {
    ...(body !== undefined ? { body } : {}),
    headers,
    tolerateReset: true,
  });

/** A raw connection that writes `parts` one by one, `gapMs` apart; resolves with what came back. */
function trickle(
  parts: string[],
  gapMs: number,
): { done: Promise<{ text: string; ms: number }>; socket: Socket } {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<{ text: string; ms: number }>((resolve) => {
    socket.setEncoding('utf8').on('data', (c: string) => {
      text += c;
    });
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ text, ms: Date.now() - started });
    });
    socket.on('error', () => {});
  });
  let i = 0;
  socket.on('connect', () => {
    timer = setInterval(() => {
      if (i < parts.length && !socket.destroyed) socket.write(parts[i++]!);
    }, gapMs);
  });
  return { done, socket };
}

const BODY_ROUTES = [
  '/v1/devices/16/ping',
  '/v1/devices/16/request',
  '/v1/devices/16/update',
  '/v1/campaigns',
];

describe('API bad input', () => {
  it('malformed JSON and non-object bodies are 400 with a code', async () => {
    const bad = await call('POST', '/v1/devices/16/request', '{"type": ');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: { code: 'bad_json' } });
    const arr = await call('POST', '/v1/devices/16/request', '[1,2]');
    expect(arr).toMatchObject({ status: 400, json: { error: { code: 'bad_request' } } });
  });

  it('fuzzed bodies on every body route get a coded answer, never a 500', async () => {
    const body = fc.oneof(
      fc.json(),
      fc.string(),
      fc.object().map((o) => JSON.stringify(o)),
      fc
        .record({ type: fc.anything(), timeoutMs: fc.anything(), image: fc.anything() })
        .map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...BODY_ROUTES), body, async (path, text) => {
        const r = await call('POST', path, text, { 'content-type': 'application/json' });
        expect(r.status).toBeLessThan(500);
        if (r.status >= 400) expect(r.json).toMatchObject({ error: { code: expect.any(String) } });
      }),
      { numRuns: 150, seed: 11 },
    );
  });

  it('a huge body is 413, declared or chunked', async () => {
    const big = Buffer.alloc(1024 * 1024, 0x20);
    const declared = await call('POST', '/v1/devices/16/request', big, {
      'content-length': String(big.length),
    });
    expect(declared).toMatchObject({ status: 413, json: { error: { code: 'body_too_large' } } });
    const chunked = await call('POST', '/v1/devices/16/request', big, { 'transfer-encoding': 'chunked' });
    expect(chunked.status).toBe(413);
  });

  it('a garbage request line is 400 and headers over 16 KiB are 431', async () => {
    const garbage = trickle(['\x00\x01GARBAGE \r\n\r\n'], 1);
    expect((await garbage.done).text).toMatch(/^HTTP\/1\.1 400/);
    const huge = trickle([`GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`], 1);
    expect((await huge.done).text).toMatch(/^HTTP\/1\.1 431/);
  });

  it('slowloris headers get 408 within the header limit while another client is served', async () => {
    const parts = ['GET /v1/status HTTP/1.1\r\n', ...Array.from({ length: 200 }, (_, i) => `X-${i}: y\r\n`)];
    const slow = trickle(parts, 50);
    await new Promise((r) => setTimeout(r, 200));
    const other = await call('GET', '/v1/status');
    expect(other.status).toBe(200);
    const { text, ms } = await slow.done;
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeLessThan(LIMITS.headersTimeoutMs + 1500);
  });

  it('a trickled body gets 408 within the request limit while another client is served', async () => {
    const head = 'POST /v1/devices/16/request HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n';
    const slow = trickle([head, ...Array.from({ length: 1000 }, () => ' ')], 20);
    await new Promise((r) => setTimeout(r, 300));
    expect((await call('GET', '/v1/devices')).status).toBe(200);
    const { text, ms } = await slow.done;
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeLessThan(LIMITS.requestTimeoutMs + 1500);
  });
});
