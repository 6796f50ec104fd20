import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient } from '@mcubus/host';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  signForSimulator,
  startDaemonProcess,
  stopChildren,
  uartDaemonConfig,
} from '../support/daemon-process.js';
import { assertAvailable, commandAvailable, shouldSkip } from '../support/requirements.js';
import { eventually, startSimulator } from '../support/sim-process.js';

const socat = commandAvailable('socat', 'apt-get install socat; .ci/run installs it');

/**
 * Crash safety of an update campaign, with real processes: mcubusd drives the simulated board (another
 * process, real time) over a pty; it is SIGKILLed in the middle of a transfer and started again on the
 * same state directory. The campaign must resume from SQLite and finish, the devices running the new
 * image, and the database must pass SQLite's integrity check.
 */
describe.skipIf(shouldSkip(socat))('an update campaign survives SIGKILL of mcubusd', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    stopChildren(children);
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('resumes after the kill and finishes every device', async () => {
    assertAvailable(socat);
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-kill-'));
    dirs.push(dir);
    const sim = await startSimulator(['--pty-dir', dir, '--seed', '5']);
    children.push(sim.child);
    const uart = sim.ports.find((p) => p.port === 'uart0')!;

    // The simulated MCUs trust the simulator's key: sign with it.
    const images: Record<string, string> = {};
    let pub = '';
    for (const hw of ['mcubus-ref-gw', 'mcubus-ref-node']) {
      images[hw] = join(dir, `${hw}.bin`);
      pub = await signForSimulator(dir, images[hw], Buffer.alloc(24 * 1024, hw.length), hw, '1.7.0');
    }
    const config = uartDaemonConfig(dir, [{ name: 'gw-uart', port: uart.path, baud: uart.baud }], [pub]);
    let client!: ApiClient;
    const startDaemon = async () => {
      const d = await startDaemonProcess(dir, config, { fromSource: true });
      children.push(d.child);
      client = d.client;
      return d.child;
    };

    const first = await startDaemon();
    await eventually(
      async () => ((await client.devices()).length === 3 ? true : undefined),
      20_000,
      'the gateway and its two nodes discovered',
    );
    const { id } = await client.startCampaign({
      items: [
        { device: 0x10, image: images['mcubus-ref-gw']! },
        { device: 0x21, image: images['mcubus-ref-node']! },
        { device: 0x22, image: images['mcubus-ref-node']! },
      ],
      trialMs: 500,
    });
    expect(id).toBe(1);
    // Kill it in the middle of the first node's transfer.
    await eventually(
      async () => {
        const u = (await client.updates()).find((x) => x.device === 0x21);
        return u && u.phase === 'transfer' && u.acked > 8 * 1024 ? true : undefined;
      },
      30_000,
      'the first transfer under way',
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));

    await startDaemon();
    const done = await eventually(
      async () => {
        const c = (await client.campaigns()).find((x) => x.id === id);
        return c && c.state !== 'running' ? c : undefined;
      },
      90_000,
      'the campaign finished after the restart',
    );
    expect(done.state).toBe('finished');
    expect([...done.items].sort((a, b) => a.device - b.device).map((i) => [i.device, i.state])).toEqual([
      [0x10, 'done'],
      [0x21, 'done'],
      [0x22, 'done'],
    ]);
    const devices = await client.devices();
    expect(devices.map((d) => [d.address, d.firmwareVersion])).toEqual([
      [0x10, '1.7.0'],
      [0x21, '1.7.0'],
      [0x22, '1.7.0'],
    ]);
    const events = await client.events({ limit: 500 });
    expect(events.map((e) => e.kind)).toContain('campaign.resume');
    // The node whose transfer was cut resumed from the device's persisted progress.
    expect(events.some((e) => e.kind === 'update.resumed' && e.device === 0x21)).toBe(true);
    const db = new Database(join(dir, 'state', 'mcubus.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  }, 180_000);
});
