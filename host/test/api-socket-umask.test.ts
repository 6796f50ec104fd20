import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDaemonApi } from '../src/api/fake-api.js';
import { startApiServer } from '../src/api/server.js';

/**
 * The control socket never exists with a broader mode than socketMode, not even between bind and the
 * chmod: Node binds a Unix socket path inside listen() itself, so the file's mode is read right after
 * that call returns (a wrapper around net.Server.prototype.listen), before startApiServer's chmod.
 */
describe('control socket mode at bind time', () => {
  let dir: string;
  let umask: number;
  const original = Server.prototype.listen;
  const atBind: { path: string; mode: number }[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcubus-umask-'));
    atBind.length = 0;
    // The widest umask: without the fix the socket would be born 0o777.
    umask = process.umask(0);
    Server.prototype.listen = function (this: Server, ...args: unknown[]) {
      const r = (original as (...a: unknown[]) => Server).apply(this, args);
      if (typeof args[0] === 'string') atBind.push({ path: args[0], mode: statSync(args[0]).mode & 0o777 });
      return r;
    } as typeof original;
  });

  afterEach(() => {
    Server.prototype.listen = original;
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const socketMode of [undefined, 0o600, 0o660, 0o666]) {
    it(`socketMode ${socketMode === undefined ? 'default (0o660)' : `0o${socketMode.toString(8)}`}`, async () => {
      const socketPath = join(dir, 'd.sock');
      const s = await startApiServer(new FakeDaemonApi(), {
        socketPath,
        ...(socketMode === undefined ? {} : { socketMode }),
      });
      try {
        const want = socketMode ?? 0o660;
        expect(atBind).toEqual([{ path: socketPath, mode: want }]);
        expect(statSync(socketPath).mode & 0o777).toBe(want);
        // The process's umask is what it was.
        expect(process.umask(0)).toBe(0);
      } finally {
        await s.close();
      }
    });
  }
});
