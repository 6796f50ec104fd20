import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDaemonApi } from '../src/api/fake-api.js';
import { type ApiServerHandle, startApiServer } from '../src/api/server.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

type Target = { socketPath: string } | { host: string; port: number };

function call(target: Target, method: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<Res>((resolve, reject) => {
    const req = request({ ...target, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

let dir: string;
let uiDir: string;
let server: ApiServerHandle | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcubus-ui-'));
  uiDir = join(dir, 'dist');
  mkdirSync(join(uiDir, 'assets'), { recursive: true });
  writeFileSync(join(uiDir, 'index.html'), '<!doctype html><title>mcubus dashboard</title>');
  writeFileSync(join(uiDir, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'not for the browser');
  symlinkSync(join(dir, 'secret.txt'), join(uiDir, 'assets', 'link.txt'));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard files', () => {
  it('serves the page at / and /ui/, and the hashed bundle as immutable', async () => {
    const socketPath = join(dir, 'd.sock');
    server = await startApiServer(new FakeDaemonApi(), { socketPath, uiDir });
    const t = { socketPath };
    for (const path of ['/', '/ui/', '/ui']) {
      const page = await call(t, 'GET', path);
      expect(page.status, path).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toContain("default-src 'self'");
      expect(page.text).toContain('<title>mcubus dashboard</title>');
    }
    const js = await call(t, 'GET', '/ui/assets/index-abc123.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toContain('immutable');
    expect(js.text).toBe('console.log(1)');
    const head = await call(t, 'HEAD', '/ui/assets/index-abc123.js');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('14');
    expect(head.text).toBe('');
  });

  it('never serves a file outside the dashboard directory', async () => {
    const socketPath = join(dir, 'd.sock');
    server = await startApiServer(new FakeDaemonApi(), { socketPath, uiDir });
    for (const path of [
      '/ui/%2e%2e/secret.txt',
      '/ui/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/ui/assets/link.txt',
    ]) {
      const r = await call({ socketPath }, 'GET', path);
      expect(r.status, path).toBe(404);
      expect(r.text).not.toContain('not for the browser');
    }
    expect((await call({ socketPath }, 'GET', '/ui/nope.js')).status).toBe(404);
    const post = await call({ socketPath }, 'POST', '/');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('says how to build the dashboard when it is not built', async () => {
    const socketPath = join(dir, 'd.sock');
    server = await startApiServer(new FakeDaemonApi(), { socketPath, uiDir: join(dir, 'missing') });
    const r = await call({ socketPath }, 'GET', '/');
    expect(r.status).toBe(404);
    expect(JSON.parse(r.text)).toMatchObject({
      error: { code: 'dashboard_not_built', message: expect.stringContaining('npm run build:ui') },
    });
  });
});

describe('the token rule for browsers', () => {
  it('exchanges ?token= for a read-only cookie and drops it from the address', async () => {
    server = await startApiServer(new FakeDaemonApi(), {
      socketPath: join(dir, 't.sock'),
      tcp: { host: '127.0.0.1', port: 0, token: 's3cret' },
      uiDir,
    });
    const t = { host: '127.0.0.1', port: server.tcpPort! };
    const bare = await call(t, 'GET', '/');
    expect(bare.status).toBe(401);
    expect(bare.text).toContain('/?token=TOKEN');
    expect((await call(t, 'GET', '/?token=wrong')).status).toBe(401);
    // A token in the query of an API route is not accepted: only the page exchanges it.
    expect((await call(t, 'GET', '/v1/status?token=s3cret')).status).toBe(401);

    const login = await call(t, 'GET', '/ui/?token=s3cret&view=traces');
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/ui/?view=traces');
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^mcubus_token=s3cret; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = { cookie: 'other=1; mcubus_token=s3cret' };

    expect((await call(t, 'GET', '/', cookie)).status).toBe(200);
    expect((await call(t, 'GET', '/v1/status', cookie)).status).toBe(200);
    expect((await call(t, 'GET', '/v1/status', { cookie: 'mcubus_token=nope' })).status).toBe(401);
    // Writes need the header, whatever the cookie says.
    const write = await call(t, 'POST', '/v1/devices/0x21/update/cancel', cookie);
    expect(write.status).toBe(403);
    expect(write.text).toContain('only grants reads');
    const withHeader = await call(t, 'POST', '/v1/devices/0x21/update/cancel', {
      authorization: 'Bearer s3cret',
    });
    expect(withHeader.status).toBe(200);
    expect(JSON.parse(withHeader.text)).toEqual({ cancelled: true });
  });
});
