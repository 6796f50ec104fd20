import { spawn } from 'node:child_process';

/** A power or unplug command of the rig file failed. */
export class RigCommandError extends Error {
  override name = 'RigCommandError';
}

/** Runs one shell command (a relay switch, a USB hub port) and resolves when it has succeeded. */
export function runShell(command: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', (e) => reject(new RigCommandError(`${command}: ${e.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new RigCommandError(`${command}: exited ${signal ?? code}${stderr ? `: ${stderr.trim()}` : ''}`),
        );
    });
  });
}
