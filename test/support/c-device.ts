import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Requirement } from './requirements.js';

const root = join(import.meta.dirname, '../..');
export const cLibraryDir = join(root, 'protocol/c');
export const cDeviceBin = join(cLibraryDir, 'build/mcubus-posix-device');

/** The POSIX device needs a C compiler and OpenSSL's headers (libssl-dev) for Ed25519. */
export function posixDeviceBuildable(): Requirement {
  const cc = spawnSync('sh', ['-c', 'command -v cc && test -f /usr/include/openssl/evp.h'], {
    encoding: 'utf8',
  });
  return cc.status === 0
    ? { ok: true, reason: '' }
    : {
        ok: false,
        reason: 'cc or libssl-dev is not installed (apt-get install gcc libssl-dev; .ci/run installs them)',
      };
}

/** Builds protocol/c's POSIX device (make is incremental); returns make's output when it fails. */
export function buildCDevice(): { ok: boolean; output: string } {
  const make = spawnSync('make', ['-C', cLibraryDir, 'posix'], { encoding: 'utf8' });
  return { ok: make.status === 0 && existsSync(cDeviceBin), output: `${make.stdout}${make.stderr}` };
}

/**
 * Starts the C device process; resolves with the pty path it serves (or the `--port` it opened) once
 * it printed {"ready":true}.
 */
export async function startCDevice(args: string[]): Promise<{ child: ChildProcess; path: string }> {
  const child = spawn(cDeviceBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  let path = '';
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`C device not ready: ${stderr}`)), 10_000);
    child.once('exit', (code) => reject(new Error(`C device exited (${code}): ${stderr}`)));
    lines.on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.port) path = msg.path;
      if (msg.ready) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, path };
}
