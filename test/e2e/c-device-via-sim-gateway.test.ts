import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCDevice, posixDeviceBuildable, startCDevice } from '../support/c-device.js';
import {
  signForSimulator,
  startDaemonProcess,
  stopChildren,
  uartDaemonConfig,
  updateEnded,
} from '../support/daemon-process.js';
import { assertAvailable, shouldSkip } from '../support/requirements.js';
import { eventually, startSimulator } from '../support/sim-process.js';

const buildable = posixDeviceBuildable();

/** A gateway on uart0 (to the host) and uart1 (to a device outside the simulator: BoardSpec.external). */
const MIXED_BOARD = {
  name: 'mixed',
  buses: [
    { kind: 'uart', name: 'uart0', baud: 115200, ends: ['host', 'gw'] },
    { kind: 'uart', name: 'uart1', baud: 115200, ends: ['gw', 'c-dev'] },
  ],
  host: { buses: ['uart0'] },
  external: [{ name: 'c-dev', address: 0x21 }],
  mcus: [
    {
      name: 'gw',
      address: 0x10,
      hardwareId: 'mcubus-ref-gw',
      ports: [{ bus: 'uart0' }, { bus: 'uart1' }],
      gateway: {},
      watchdogMs: 500,
    },
  ],
};

/**
 * Mixed implementations on one path (issue 9): the real daemon → a pty → a firmware-sim gateway
 * (TypeScript, simulated in real time) → a second UART → the C device library as a Linux process.
 * Each side is an independent implementation of the protocol; the update crosses both.
 */
describe.skipIf(shouldSkip(buildable))('mcubusd → firmware-sim gateway → C device', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    stopChildren(children);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('discovers the C device behind the simulated gateway and updates it through it', async () => {
    assertAvailable(buildable);
    const make = buildCDevice();
    expect(make.ok, make.output).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-mixed-'));
    dirs.push(dir);
    const scenario = join(dir, 'board.json');
    writeFileSync(scenario, JSON.stringify(MIXED_BOARD));
    const sim = await startSimulator(['--pty-dir', join(dir, 'pty'), '--seed', '9', '--scenario', scenario]);
    children.push(sim.child);
    const hostPort = sim.ports.find((p) => p.port === 'uart0')!;
    const devicePort = sim.ports.find((p) => p.port === 'uart1')!;
    expect((devicePort as { external?: string }).external).toBe('c-dev');

    // The C device trusts the simulator's key; the image is signed with it.
    const image = join(dir, 'app.bin');
    const bytes = Buffer.alloc(24 * 1024 + 77);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 13 + (i >> 9)) & 0xff;
    const pub = await signForSimulator(dir, image, bytes, 'mcubus-c-posix', '1.2.0');
    const flash = join(dir, 'flash.bin');
    const device = await startCDevice([
      ...['--port', devicePort.path, '--flash', flash, '--address', '0x21', '--trusted-key', pub],
    ]);
    children.push(device.child);

    const config = uartDaemonConfig(dir, [{ name: 'uart0', port: hostPort.path, baud: 115200 }], [pub]);
    const { child, client, log } = await startDaemonProcess(dir, config);
    children.push(child);
    const found = await eventually(
      async () => {
        const ds = await client.devices();
        const c = ds.find((d) => d.address === 0x21);
        return c && ds.some((d) => d.address === 0x10) ? c : undefined;
      },
      30_000,
      'the C device found behind the simulated gateway',
      log,
    );
    expect(found).toMatchObject({
      bus: 'uart0',
      via: 0x10,
      hops: 1,
      name: 'c-posix',
      firmwareVersion: '1.0.0',
    });
    expect((await client.ping(0x21)).ok).toBe(true);

    expect(await client.startUpdate(0x21, { image, trialMs: 1500 })).toMatchObject({ started: true });
    const done = await updateEnded(client, 0x21, 90_000, log);
    console.log(
      `C device behind firmware-sim gateway: ${done.phase}: ${done.detail}; ${done.acked}/${done.size}`,
    );
    expect(done.phase, done.detail).toBe('done');
    expect(done.acked).toBe(bytes.length);
    const after = await eventually(
      async () => (await client.devices()).find((d) => d.address === 0x21 && d.firmwareVersion === '1.2.0'),
      10_000,
      'the C device reports 1.2.0',
    );
    expect(after.via).toBe(0x10);
  }, 150_000);
});
