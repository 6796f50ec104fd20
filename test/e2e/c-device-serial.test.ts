import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCDevice, posixDeviceBuildable, startCDevice } from '../support/c-device.js';
import {
  signForSimulator,
  startDaemonProcess,
  uartDaemonConfig,
  updateEnded,
} from '../support/daemon-process.js';
import { assertAvailable, shouldSkip } from '../support/requirements.js';
import { eventually } from '../support/sim-process.js';

const buildable = posixDeviceBuildable();

/**
 * The real daemon (compiled, node host/dist/mcubusd.js) against the C device library running as a
 * Linux process (protocol/c/posix) on a pty: an independent implementation of the device side.
 */
describe.skipIf(shouldSkip(buildable))('mcubusd ↔ the C device library over a pty', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** The C device on a fresh pty (its flash in a temporary directory) and mcubusd on that pty. */
  async function setup(prepare: (dir: string) => Promise<{ args: string[]; trustedKeys: string[] }>) {
    assertAvailable(buildable);
    const make = buildCDevice();
    expect(make.ok, make.output).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-c-e2e-'));
    dirs.push(dir);
    const { args, trustedKeys } = await prepare(dir);
    const base = ['--flash', join(dir, 'flash.bin'), '--address', '0x21', '--hardware-id', 'mcubus-c-posix'];
    const device = await startCDevice([...base, ...args]);
    children.push(device.child);
    const config = uartDaemonConfig(dir, [{ name: 'c-uart', port: device.path, baud: 115200 }], trustedKeys);
    const daemon = await startDaemonProcess(dir, config);
    children.push(daemon.child);
    return { dir, client: daemon.client, device, log: daemon.log };
  }

  it('is discovered, answers PING, heartbeats (health up) and gets its clock synced', async () => {
    const { client, log } = await setup(async () => ({ args: [], trustedKeys: [] }));
    const dev = await eventually(
      async () => (await client.devices()).find((d) => d.address === 0x21),
      20_000,
      'the C device discovered',
      log,
    );
    expect(dev).toMatchObject({ address: 0x21, bus: 'c-uart', hops: 0 });
    expect(dev.name).toBe('c-posix');
    expect(dev.firmwareVersion).toBe('1.0.0');

    const ping = await client.ping(0x21);
    expect(ping.ok).toBe(true);

    const health = await eventually(
      async () => {
        const h = (await client.health()).find((x) => x.address === 0x21);
        return h?.state === 'up' && h.lastHeartbeatMs !== undefined ? h : undefined;
      },
      20_000,
      'health up from heartbeats',
    );
    expect(health.mode).toBe('app');
    expect(health.healthLevel).toBe('nominal');

    const time = await eventually(
      async () => {
        const t = (await client.time()).find((x) => x.address === 0x21);
        return t?.synced && (t.samplesUsed ?? 0) >= 2 ? t : undefined;
      },
      30_000,
      'clock synced',
      log,
    );
    // Both clocks are CLOCK_MONOTONIC-based on one machine (the device counts µs from its own
    // CLOCK_MONOTONIC, the host maps to its wall clock): the bound must be tight on a pty.
    console.log(
      `C device clock: ${time.method}, bound ${time.boundUs} us, min RTT ${time.rttMinUs} us, ${time.samplesUsed} samples`,
    );
    expect(time.method).toBeDefined();
    expect(time.boundUs).toBeLessThan(50_000);
    expect(time.rttMinUs).toBeLessThan(50_000);
  }, 90_000);

  it('takes a signed update: transfer, verify, activate, test boot of the other slot, confirm', async () => {
    let image = '';
    const { client, log } = await setup(async (d) => {
      // The device trusts the simulator's public key; the image is signed with its private key.
      image = join(d, 'app.bin');
      const bytes = Buffer.alloc(40 * 1024 + 123);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 8)) & 0xff;
      const pub = await signForSimulator(d, image, bytes, 'mcubus-c-posix', '1.1.0');
      return { args: ['--trusted-key', pub], trustedKeys: [pub] };
    });
    await eventually(
      async () => (await client.devices()).find((d) => d.address === 0x21 && d.firmwareVersion === '1.0.0'),
      20_000,
      'the C device discovered running 1.0.0',
      log,
    );
    expect(await client.startUpdate(0x21, { image, trialMs: 1500 })).toMatchObject({ started: true });
    const done = await updateEnded(client, 0x21, 60_000, log);
    console.log(
      `C device update: ${done.phase}: ${done.detail}; ${done.acked}/${done.size} bytes acknowledged`,
    );
    expect(done.phase, done.detail).toBe('done');
    expect(done.acked).toBe(done.size);
    const dev = await eventually(
      async () => (await client.devices()).find((d) => d.address === 0x21 && d.firmwareVersion === '1.1.0'),
      10_000,
      'the device reports 1.1.0',
    );
    expect(dev.firmwareVersion).toBe('1.1.0');
    // The new image booted once in test mode (a reset) and was confirmed: HELLO's slots say so.
    const hello = await client.request(0x21, { type: 'identify', body: {} });
    expect(hello.ok).toBe(true);
    const slots = (hello.answer!.body as { slots: { index: number; version: number[]; flags: number }[] })
      .slots;
    const running = slots.find((s) => (s.flags & 1) !== 0);
    expect(running?.version).toEqual([1, 1, 0]);
    expect((running?.flags ?? 0) & 0b1110).toBe(0b1010); // confirmed + valid, no longer pending
  }, 120_000);
});
