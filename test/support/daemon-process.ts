import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, type CliIo, runCli, type UpdateStatusView } from '@mcubus/host';
import { eventually } from './sim-process.js';

const root = join(import.meta.dirname, '../..');
const quiet: CliIo = { stdout: { write: () => true }, stderr: { write: () => true } };

/**
 * Writes `image` signed with the simulator's key (which simulated MCUs and the C POSIX device trust)
 * as IMAGE + IMAGE.manifest; returns the public key's path for `updates.trustedKeys`.
 */
export async function signForSimulator(
  dir: string,
  image: string,
  bytes: Uint8Array,
  hardwareId: string,
  version: string,
): Promise<string> {
  const key = join(dir, 'sim.pem');
  if ((await runCli(['image', 'keygen', '--simulator', '--force', '--out', key], quiet)) !== 0)
    throw new Error('mcubus image keygen --simulator failed');
  writeFileSync(image, bytes);
  const sign = ['image', 'sign', image, '--key', key, '--hardware-id', hardwareId, '--version', version];
  if ((await runCli(sign, quiet)) !== 0) throw new Error(`mcubus image sign ${image} failed`);
  return join(dir, 'sim.pub.pem');
}

/** A daemon configuration in `dir` with these UART buses (pty paths); returns its path. */
export function uartDaemonConfig(
  dir: string,
  buses: readonly { name: string; port: string; baud: number }[],
  trustedKeys: readonly string[] = [],
): string {
  const config = join(dir, 'mcubus.yaml');
  writeFileSync(
    config,
    `stateDir: ${dir}/state
api:
  socket: ${dir}/mcubusd.sock
buses:
${buses.map((b) => `  - { name: ${b.name}, type: uart, port: ${b.port}, baud: ${b.baud} }`).join('\n')}
${trustedKeys.length > 0 ? `updates:\n  trustedKeys: [${trustedKeys.join(', ')}]\n` : ''}`,
  );
  return config;
}

/**
 * Starts mcubusd as a process — compiled (host/dist, what users run) unless `fromSource` — on a
 * configuration written by uartDaemonConfig in `dir`; resolves once its API answers.
 */
export async function startDaemonProcess(
  dir: string,
  config: string,
  opts: { fromSource?: boolean } = {},
): Promise<{ child: ChildProcess; client: ApiClient; log: () => string }> {
  const child = opts.fromSource
    ? spawn(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', join(root, 'host/src/mcubusd.ts'), '--config', config],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
    : spawn(process.execPath, [join(root, 'host/dist/mcubusd.js'), '--config', config], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const client = new ApiClient({ socketPath: join(dir, 'mcubusd.sock') });
  const tail = () => log.slice(-800);
  await eventually(() => client.status().catch(() => undefined), 20_000, 'mcubusd up', tail);
  return { child, client, log: tail };
}

const FINAL = ['done', 'failed', 'rolled_back', 'cancelled'];

/** Waits until the device's update has ended (any way); the daemon's last words go with a timeout. */
export async function updateEnded(
  client: ApiClient,
  device: number,
  timeoutMs: number,
  log: () => string = () => '',
): Promise<UpdateStatusView> {
  let last = '';
  return eventually(
    async () => {
      const u = (await client.updates()).find((x) => x.device === device);
      last = u ? `${u.phase}: ${u.detail} (${u.acked}/${u.size})` : '';
      return u && FINAL.includes(u.phase) ? u : undefined;
    },
    timeoutMs,
    `the update of 0x${device.toString(16)} to end`,
    () => `${last}\n${log()}`,
  );
}

/**
 * Stops a test's processes: SIGTERM first, so a simulator closes the socat processes serving its ptys
 * (SIGKILL would leave them running); whatever has not stopped 2 s later is killed.
 */
export function stopChildren(children: ChildProcess[]): void {
  for (const c of children.splice(0)) {
    c.kill('SIGTERM');
    setTimeout(() => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'), 2000).unref();
  }
}
