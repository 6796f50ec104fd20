import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { commandAvailable, shouldSkip } from '../../test/support/requirements.js';

/** Test support for the transport tests: socat pty pairs and a fake peer on the far end. */
export const socatRequirement = commandAvailable('socat', 'apt-get install socat');
export const skipPty = shouldSkip(socatRequirement);

export interface PtyPair {
  readonly a: string;
  readonly b: string;
  /** Kills socat (both ptys vanish) and waits for it to exit. */
  kill(): Promise<void>;
}

export async function ptyPair(a: string, b: string): Promise<PtyPair> {
  const child: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  await waitFor(() => existsSync(a) && existsSync(b), 5000, `socat links ${a} ${b}`);
  return {
    a,
    b,
    kill: async () => {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await done;
    },
  };
}

export async function openPeer(
  path: string,
  baudRate: number,
  parity: 'none' | 'even' = 'none',
): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, parity, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  return port;
}

export async function closePeer(port: SerialPort): Promise<void> {
  if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
