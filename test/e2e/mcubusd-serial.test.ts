import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceBoard } from '@mcubus/firmware-sim';
import { ApiClient, runCli } from '@mcubus/host';
import { afterEach, describe, expect, it } from 'vitest';
import { assertAvailable, commandAvailable, shouldSkip } from '../support/requirements.js';
import { eventually, spawnTs, startSimulator } from '../support/sim-process.js';

const socat = commandAvailable('socat', 'apt-get install socat; .ci/run installs it');

/**
 * The real serial path: mcubusd opens ptys with serialport, exactly as it opens /dev/ttyUSB0 on a
 * board; behind them runs the simulated board in another process, in real time.
 */
describe.skipIf(shouldSkip(socat))('mcubusd ↔ mcubus-sim over ptys', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGTERM');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function daemonWith(
    config: (dir: string) => string,
  ): Promise<{ client: ApiClient; socket: string; daemon: ChildProcess }> {
    const dir = mkdtempSync(join(tmpdir(), 'mcubusd-e2e-'));
    dirs.push(dir);
    const file = join(dir, 'mcubus.yaml');
    writeFileSync(file, config(dir));
    const daemon = spawnTs('host/src/mcubusd.ts', ['--config', file]);
    children.push(daemon);
    let log = '';
    daemon.stdout!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    daemon.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    const socket = join(dir, 'mcubusd.sock');
    const client = new ApiClient({ socketPath: socket });
    await eventually(
      () => client.status().catch(() => undefined),
      20_000,
      `mcubusd up (log: ${log.slice(-500)})`,
    );
    return { client, socket, daemon };
  }

  it('discovers the board through a UART pty and a Modbus pty, pings through the gateway, and keeps serving with a missing port', async () => {
    assertAvailable(socat);
    const simDir = mkdtempSync(join(tmpdir(), 'mcubus-sim-'));
    dirs.push(simDir);
    const sim = await startSimulator(['--pty-dir', simDir, '--seed', '3']);
    children.push(sim.child);
    const uart = sim.ports.find((p) => p.port === 'uart0')!;
    const rs485 = sim.ports.find((p) => p.port === 'rs485')!;
    const { client, socket } = await daemonWith(
      (dir) => `stateDir: ${dir}
api:
  socket: ${dir}/mcubusd.sock
buses:
  - name: gw-uart
    type: uart
    port: ${uart.path}
    baud: ${uart.baud}
  - name: rs485
    type: modbus
    port: ${rs485.path}
    baud: ${rs485.baud}
    devices:
      - slave: 7
        address: 0x30
  - name: spare
    type: uart
    port: /dev/ttyMCUBUS-NOT-THERE
`,
    );
    let lastSeen = '';
    const devices = await eventually(
      async () => {
        const d = await client.devices();
        // Nodes heard before their gateway get their route completed once the gateway is known.
        const behind = d.filter((x) => x.address === 0x21 || x.address === 0x22);
        lastSeen = JSON.stringify(d.map((x) => [x.address, x.bus, x.via, x.hops]));
        return d.length === 4 && behind.every((x) => x.via === 0x10) ? d : undefined;
      },
      20_000,
      'four devices with settled routes',
      () => lastSeen,
    );
    const by = Object.fromEntries(devices.map((d) => [d.address, d]));
    expect(by[0x21]).toMatchObject({ bus: 'gw-uart', via: 0x10, hops: 1 });
    expect(by[0x30]).toMatchObject({ bus: 'rs485', via: null });

    // The CLI, as an operator would use it.
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) } };
    expect(await runCli(['ping', '0x22', '--socket', socket], io)).toBe(0);
    expect(out).toMatch(/0x22/);
    out = '';
    expect(await runCli(['status', '--json', '--socket', socket], io)).toBe(0);
    const status = JSON.parse(out);
    const spare = status.buses.find((b: { name: string }) => b.name === 'spare');
    expect(spare.state).toBe('lost');
    expect(spare.detail).toContain('/dev/ttyMCUBUS-NOT-THERE');
    const journal = await client.events({ limit: 100 });
    expect(journal.some((e) => e.kind === 'bus.failed' && e.bus === 'spare')).toBe(true);
  }, 60_000);

  it('reaches CAN nodes directly through a (simulated) slcan USB-CAN adapter on a pty', async () => {
    assertAvailable(socat);
    const simDir = mkdtempSync(join(tmpdir(), 'mcubus-sim-'));
    dirs.push(simDir);
    const spec = referenceBoard();
    const scenario = join(simDir, 'board.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        ...spec,
        host: { buses: ['can0'] },
        buses: spec.buses
          .filter((b) => b.name === 'can0')
          .concat([{ kind: 'uart', name: 'uart0', baud: 115200, ends: ['host', 'gw'] }]),
        mcus: spec.mcus.filter((m) => m.name !== 'node-m'),
      }),
    );
    const sim = await startSimulator(['--pty-dir', simDir, '--seed', '4', '--scenario', scenario]);
    children.push(sim.child);
    const can = sim.ports.find((p) => p.port === 'can0')!;
    expect(can.protocol).toBe('slcan');
    const { client } = await daemonWith(
      (dir) => `stateDir: ${dir}
api:
  socket: ${dir}/mcubusd.sock
buses:
  - name: can0
    type: can
    backend: slcan
    port: ${can.path}
    bitrate: 500000
`,
    );
    const devices = await eventually(
      async () => {
        const d = await client.devices();
        return d.length === 3 ? d : undefined;
      },
      20_000,
      'three CAN devices',
    );
    expect(devices.map((d) => [d.address, d.bus, d.hops])).toEqual([
      [0x10, 'can0', 0],
      [0x21, 'can0', 0],
      [0x22, 'can0', 0],
    ]);
    const ping = await client.ping(0x21);
    expect(ping.ok).toBe(true);
  }, 60_000);

  it('says so when the USB adapter disappears mid-run, keeps retrying, and resumes when it is back', async () => {
    assertAvailable(socat);
    const simDir = mkdtempSync(join(tmpdir(), 'mcubus-sim-'));
    dirs.push(simDir);
    let sim = await startSimulator(['--pty-dir', simDir, '--seed', '6']);
    children.push(sim.child);
    const uart = sim.ports.find((p) => p.port === 'uart0')!;
    const { client } = await daemonWith(
      (dir) => `stateDir: ${dir}
api:
  socket: ${dir}/mcubusd.sock
buses:
  - name: gw-uart
    type: uart
    port: ${uart.path}
`,
    );
    await eventually(
      async () => ((await client.devices()).length === 3 ? true : undefined),
      20_000,
      'three devices',
    );
    // Unplug: the simulator and its pty go away.
    sim.child.kill('SIGTERM');
    await eventually(
      async () => ((await client.status()).buses[0]?.state === 'lost' ? true : undefined),
      15_000,
      'bus reported lost',
    );
    const lost = (await client.events({ limit: 50 })).find((e) => e.kind === 'bus.lost');
    expect(lost?.message).toMatch(/gw-uart lost: .*retrying in \d+ ms/);
    // Plug back in: same path, a new board behind it.
    sim = await startSimulator(['--pty-dir', simDir, '--seed', '7']);
    children.push(sim.child);
    const before = Math.max(...(await client.devices()).map((d) => d.lastSeenMs));
    await eventually(
      async () => {
        const s = await client.status();
        const fresh = s.devices.some((d) => d.lastSeenMs > before);
        return s.buses[0]?.state === 'open' && fresh ? true : undefined;
      },
      30_000,
      'bus open again and devices heard',
    );
  }, 90_000);
});
