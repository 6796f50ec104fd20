import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition } from '../support/prom-text.js';
import { assertAvailable, commandAvailable, type Requirement, shouldSkip } from '../support/requirements.js';
import { eventually } from '../support/sim-process.js';

/**
 * mcubusd under systemd's notification protocol, without systemd: the test plays systemd's part,
 * listening on a unix datagram socket (python3 receives; Node cannot) named by NOTIFY_SOCKET, and
 * runs the real daemon process with its embedded simulated reference board.
 */
const python = commandAvailable('python3', 'apt-get install python3; .ci/run installs it');
const curl = commandAvailable('curl', 'apt-get install curl; .ci/run installs it');
const addon: Requirement = (() => {
  try {
    createRequire(import.meta.url)('sd-notify');
    return { ok: true, reason: '' };
  } catch (e) {
    return {
      ok: false,
      reason: `the sd-notify addon is not built (${(e as Error).message.split('\n')[0]}): apt-get install libsystemd-dev, then npm ci; .ci/run does both`,
    };
  }
})();
const needs: Requirement = python.ok && addon.ok ? python : python.ok ? addon : python;

const root = join(import.meta.dirname, '../..');

/** Prints each datagram it receives as one JSON string per line; '@name' is an abstract socket. */
const RECEIVER = `
import json, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + addr[1:] if addr.startswith("@") else addr)
print(json.dumps("LISTENING"), flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;

/** The notifications received so far; `next(prefix)` waits for the next one that starts with it. */
function listen(address: string): {
  child: ChildProcess;
  ready: Promise<void>;
  received: string[];
  waitFor(prefix: string, ms: number): Promise<number>;
} {
  const child = spawn('python3', ['-u', '-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: string[] = [];
  let onListening: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    onListening = resolve;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line) as string;
    if (msg === 'LISTENING') onListening();
    else received.push(msg);
  });
  return {
    child,
    ready,
    received,
    // Resolves with the index of the first notification from `from` on whose first line is `prefix`.
    waitFor: (prefix, ms) =>
      eventually(
        () => {
          const i = received.findIndex((m) => m.split('\n')[0] === prefix);
          return i >= 0 ? i : undefined;
        },
        ms,
        prefix,
        () => JSON.stringify(received),
      ),
  };
}

function startDaemon(dir: string, env: Record<string, string>): { child: ChildProcess; log: () => string } {
  const config = join(dir, 'mcubus.yaml');
  writeFileSync(
    config,
    `stateDir: ${join(dir, 'state')}
api:
  socket: ${join(dir, 'api.sock')}
simulator:
  scenario: reference
  seed: 5
buses:
  - { name: uart0, type: sim }
  - { name: rs485, type: sim }
`,
  );
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(root, 'host/src/mcubusd.ts'), '--config', config],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let log = '';
  child.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  return { child, log: () => log };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

describe.skipIf(shouldSkip(needs))('mcubusd and systemd (Type=notify, WatchdogSec)', () => {
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'mcubus-sd-'));
    dirs.push(d);
    return d;
  };

  it('says READY=1 once it serves, WATCHDOG=1 every WATCHDOG_USEC/2, STOPPING=1 on SIGTERM; logs name device and bus; /metrics answers', async () => {
    assertAvailable(python);
    assertAvailable(addon);
    const dir = tempDir();
    const notify = listen(join(dir, 'notify.sock'));
    children.push(notify.child);
    await notify.ready;
    const daemon = startDaemon(dir, { NOTIFY_SOCKET: join(dir, 'notify.sock'), WATCHDOG_USEC: '600000' });
    children.push(daemon.child);

    const ready = await notify.waitFor('READY=1', 30_000);
    expect(notify.received.slice(0, ready)).toEqual([]);
    expect(notify.received[ready]).toBe(`READY=1\nSTATUS=serving 2 bus(es), API on ${join(dir, 'api.sock')}`);
    // Ready means the API answers.
    const started = Date.now();
    await eventually(
      () => (notify.received.filter((m) => m === 'WATCHDOG=1').length >= 3 ? true : undefined),
      5000,
      'three watchdog pings',
    );
    // Every 300 ms: three take at least 600 ms after the first.
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);

    if (!shouldSkip(curl)) {
      assertAvailable(curl);
      // Scraped as Prometheus (or a person) would, once the board's four MCUs are discovered.
      const devices = await eventually(
        async () => {
          const { stdout } = await promisify(execFile)('curl', [
            '-sf',
            '--unix-socket',
            join(dir, 'api.sock'),
            'http://localhost/metrics',
          ]);
          const m = parseExposition(stdout);
          const up = m
            .get('mcubus_device_health_state')!
            .samples.filter((s) => s.labels.state === 'up' && s.value === 1);
          return up.length === 4 ? up.map((s) => s.labels.device).sort() : undefined;
        },
        20_000,
        'four devices up in /metrics',
      );
      expect(devices).toEqual(['0x10', '0x21', '0x22', '0x30']);
    }

    daemon.child.kill('SIGTERM');
    expect(await exited(daemon.child)).toBe(0);
    await notify.waitFor('STOPPING=1', 5000);
    const last = notify.received.at(-1);
    expect(last).toBe('STOPPING=1\nSTATUS=stopping');

    // Log lines about a device carry its address (a number) and its bus by name.
    const lines = daemon
      .log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { kind?: string; device?: unknown; bus?: unknown });
    const newDevices = lines.filter((l) => l.kind === 'device.new');
    expect(newDevices.map((l) => l.device).sort()).toEqual([0x10, 0x21, 0x22, 0x30]);
    for (const l of lines.filter((x) => typeof x.device === 'number')) {
      expect(typeof l.bus, JSON.stringify(l)).toBe('string');
    }
    // Behind the gateway, its bus is the host's side of the route; known before the registry has it.
    const up = lines.find((l) => l.kind === 'health.state' && l.device === 0x21);
    expect(up?.bus).toBe('uart0');
  });

  it('finds an abstract NOTIFY_SOCKET ("@name") and sends no watchdog pings when WATCHDOG_USEC is absent', async () => {
    assertAvailable(python);
    assertAvailable(addon);
    const dir = tempDir();
    const name = `@mcubus-test-${process.pid}-${Date.now()}`;
    const notify = listen(name);
    children.push(notify.child);
    await notify.ready;
    const daemon = startDaemon(dir, { NOTIFY_SOCKET: name });
    children.push(daemon.child);
    await notify.waitFor('READY=1', 30_000);
    await new Promise((r) => setTimeout(r, 700));
    daemon.child.kill('SIGTERM');
    expect(await exited(daemon.child)).toBe(0);
    await notify.waitFor('STOPPING=1', 5000);
    expect(notify.received.map((m) => m.split('\n')[0])).toEqual(['READY=1', 'STOPPING=1']);
  });
});
