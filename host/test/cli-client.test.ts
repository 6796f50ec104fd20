import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeDaemonApi } from '../src/api/fake-api.js';
import { type ApiServerHandle, startApiServer } from '../src/api/server.js';
import { ApiClient, ApiResponseError, DaemonUnreachableError } from '../src/cli/client.js';
import { formatAgo, formatAgoFine } from '../src/cli/format.js';
import { type CliIo, runCli } from '../src/cli/run.js';

const NOW = 1_700_000_000_000;
let dir: string;
let socketPath: string;
let api: FakeDaemonApi;
let server: ApiServerHandle | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mcubus-cli-'));
  socketPath = join(dir, 'mcubusd.sock');
  api = new FakeDaemonApi({ now: () => NOW });
  server = await startApiServer(api, { socketPath });
});

afterEach(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[], extra: Partial<CliIo> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    now: () => NOW,
    ...extra,
  });
  return { code, stdout, stderr };
}

describe('mcubus status', () => {
  it('prints the device table and one line per bus', async () => {
    const r = await cli(['status', '--socket', socketPath]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('mcubusd 0.1.0, up 1 h 2 min, 2 devices');
    expect(lines[2]).toMatch(/^ADDRESS\s+NAME\s+BUS\s+ROUTE\s+MODE\s+FIRMWARE\s+BOOTLOADER\s+LAST SEEN$/);
    expect(lines[3]).toMatch(/^0x10\s+gateway\s+uart0\s+direct\s+app\s+1\.4\.0\s+0\.9\.1\s+3 s ago$/);
    expect(lines[4]).toMatch(
      /^0x21\s+motor-left\s+uart0\s+via 0x10\s+bootloader\s+1\.2\.0\s+0\.9\.0\s+2 min ago$/,
    );
    expect(r.stdout).toContain('bus uart0 (uart): open');
    expect(r.stdout).toContain('bus can0 (can): lost — ENODEV');
  });

  it('--json prints the status as JSON', async () => {
    const r = await cli(['status', '--json', '--socket', socketPath]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.devices.map((d: { address: number }) => d.address)).toEqual([0x10, 0x21]);
    expect(s.buses[1].state).toBe('lost');
  });

  it('takes the socket from $MCUBUS_SOCKET', async () => {
    const r = await cli(['status', '--json'], { env: { MCUBUS_SOCKET: socketPath } });
    expect(r.code).toBe(0);
  });
});

describe('mcubus devices', () => {
  it('lists devices, shows one, and --json parses', async () => {
    const list = await cli(['devices', '--socket', socketPath]);
    expect(list.stdout).toMatch(/0x21\s+motor-left/);
    const one = await cli(['devices', '0x10', '--socket', socketPath]);
    expect(one.stdout).toContain('hardware:   gw-board rev 2');
    const json = await cli(['devices', '--json', '--socket', socketPath]);
    expect(JSON.parse(json.stdout)).toHaveLength(2);
  });

  it('an unknown device is a request failure (exit 1)', async () => {
    const r = await cli(['devices', '0x42', '--socket', socketPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no device at address 66/);
  });
});

describe('mcubus ping / send', () => {
  it('pings a device', async () => {
    const r = await cli(['ping', '0x21', '--timeout', '300', '--socket', socketPath]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('0x21: pong in 2.5 ms (1 attempt)');
    expect(api.calls.at(-1)).toEqual({ method: 'ping', args: [0x21, 300] });
    const j = await cli(['ping', '33', '--json', '--socket', socketPath]);
    expect(JSON.parse(j.stdout)).toEqual({ ok: true, rttMs: 2.5, attempts: 1 });
  });

  it('a device that does not answer exits 1', async () => {
    const r = await cli(['ping', '0x42', '--socket', socketPath]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe('0x42: no answer (timeout)');
  });

  it('sends a request with a JSON body', async () => {
    const r = await cli(['send', '0x21', 'get_info', '{"a":1}', '--json', '--socket', socketPath]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, answer: { type: 'get_info_ack', body: { a: 1 } } });
    const text = await cli(['send', '0x21', 'get_info', '--socket', socketPath]);
    expect(text.stdout).toMatch(/^0x21 answered get_info_ack: \{\}/);
  });

  it('bad arguments exit 2', async () => {
    for (const argv of [
      ['ping', '--socket', socketPath],
      ['ping', 'zz', '--socket', socketPath],
      ['ping', '0x21', '--timeout', 'x', '--socket', socketPath],
      ['send', '0x21', 'get_info', '{bad', '--socket', socketPath],
      ['status', 'extra', '--socket', socketPath],
      ['status', '--bogus'],
      ['frobnicate'],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).not.toBe('');
    }
  });
});

describe('mcubus events', () => {
  it('lists recent events oldest first, with --device and --limit', async () => {
    api.emit({ kind: 'device.seen', severity: 'info', message: 'first', device: 0x21, atMs: NOW - 2000 });
    api.emit({ kind: 'bus.lost', severity: 'warning', message: 'second', bus: 'can0', atMs: NOW - 1000 });
    api.emit({ kind: 'device.seen', severity: 'info', message: 'third', device: 0x10, atMs: NOW });
    const r = await cli(['events', '--socket', socketPath]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('2023-11-14T22:13:18.000Z  info     0x21   device.seen: first');
    expect(lines[1]).toContain('warning  can0   bus.lost: second');
    const lim = await cli(['events', '--limit', '1', '--json', '--socket', socketPath]);
    expect(JSON.parse(lim.stdout).map((e: { message: string }) => e.message)).toEqual(['third']);
    const dev = await cli(['events', '--device', '0x21', '--json', '--socket', socketPath]);
    expect(JSON.parse(dev.stdout).map((e: { message: string }) => e.message)).toEqual(['first']);
  });

  it('--follow prints recent events then live ones until aborted', async () => {
    api.emit({ kind: 'k', severity: 'info', message: 'old' });
    const abort = new AbortController();
    let stdout = '';
    const done = runCli(['events', '--follow', '--json', '--socket', socketPath], {
      stdout: {
        write: (s: string) => {
          stdout += s;
          if (s.includes('"live"')) abort.abort();
        },
      },
      stderr: { write: () => {} },
      env: {},
      signal: abort.signal,
    });
    const end = Date.now() + 2000;
    while (api.subscriberCount === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    api.emit({ kind: 'k', severity: 'info', message: 'live' });
    expect(await done).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((e) => e.message)).toEqual(['old', 'live']);
  });
});

describe('mcubus time / telemetry', () => {
  it('time prints one line per device clock', async () => {
    const r = await cli(['time', '--socket', socketPath]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ADDRESS\s+NAME\s+TIMED\s+SYNCED\s+OFFSET\s+SKEW\s+BOUND\s+SAMPLES\s+EXCHANGE\s+EPOCH$/,
    );
    expect(lines[1]).toMatch(
      /^0x10\s+gateway\s+direct\s+yes\s+1234567 µs\s+41\.970 ppm\s+±23\.4 µs\s+32\/1200\s+250 ms\s+1$/,
    );
    expect(lines[2]).toMatch(
      /^0x21\s+motor-left\s+via 0x10\s+yes\s+-5000123 µs\s+-87\.200 ppm\s+±31\.9 µs\s+8\s+map 1\.2 s old\s+2$/,
    );
    const one = await cli(['time', '0x21', '--json', '--socket', socketPath]);
    expect(JSON.parse(one.stdout)).toMatchObject({ address: 0x21, epoch: 2 });
    const none = await cli(['time', '0x55', '--socket', socketPath]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no clock known for 0x55');
  });

  it('telemetry --aligned merges devices on the host timeline, with bounds', async () => {
    const raw = await cli(['telemetry', '--socket', socketPath]);
    expect(raw.code).toBe(0);
    const rawLines = raw.stdout.trimEnd().split('\n');
    expect(rawLines[0]).toMatch(/^DEVICE\s+CHANNEL\s+EPOCH\s+DEVICE TIME \(µs\)\s+RECEIVED\s+VALUE$/);
    expect(rawLines[1]).toMatch(/^0x10\s+1\s+1\s+7000000\s/);
    const r = await cli(['telemetry', '--aligned', '--socket', socketPath]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^HOST TIME \(ALIGNED\)\s+BOUND\s+DEVICE\s+CHANNEL\s+VALUE\s+DEVICE TIME \(µs\)$/,
    );
    const base = NOW - 10_000;
    // Columns: time, bound ("±25.0 µs" splits in two), device.
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4))).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => [
        new Date(base + i * 50).toISOString().replace('Z', '000Z'),
        '±25.0',
        'µs',
        i % 2 === 0 ? '0x10' : '0x21',
      ]),
    );
    await cli(['telemetry', '--device', '0x21', '--channel', '1', '--limit', '3', '--socket', socketPath]);
    expect(api.calls.at(-1)).toEqual({ method: 'telemetry', args: [{ device: 0x21, channel: 1, limit: 3 }] });
    const bad = await cli(['telemetry', '--channel', 'x', '--socket', socketPath]);
    expect(bad.code).toBe(2);
  });
});

describe('mcubus trace', () => {
  it('lists traces with the hop and cause of each loss, and shows one hop by hop', async () => {
    const list = await cli(['trace', '--problems', '--socket', socketPath]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('can0 0x10→0x21');
    expect(list.stdout).toContain('forwarded by 0x10 on can0, never reached 0x21');
    expect(list.stdout).not.toMatch(/^7 /m); // the clean ping is not a problem
    expect(api.calls.at(-1)).toEqual({ method: 'traces', args: [{ limit: 20, problems: true }] });
    const one = await cli(['trace', '8', '--socket', socketPath]);
    expect(one.code).toBe(0);
    const lines = one.stdout.split('\n');
    expect(lines[0]).toBe('trace 8: ping 0x00 → 0x21 seq 42 on uart0, 16 bytes');
    expect(lines).toContain('where: can0 0x10→0x21 — forwarded by 0x10 on can0, never reached 0x21');
    expect(one.stdout).toMatch(/\+1001\.900\s+0x10\s+forwarded\s+request \(copy\) on can0/);
    const missing = await cli(['trace', '99', '--socket', socketPath]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no trace with id "99"');
    expect((await cli(['trace', 'x', '--socket', socketPath])).code).toBe(2);
  });
});

describe('mcubus image / update', () => {
  it('keygen, sign and inspect an image locally', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mcubus-cli-img-'));
    try {
      const key = join(d, 'k.pem');
      const img = join(d, 'app.bin');
      writeFileSync(img, Buffer.alloc(3000, 7));
      expect((await cli(['image', 'keygen', '--out', key])).code).toBe(0);
      expect((await cli(['image', 'keygen', '--out', key])).stderr).toContain(
        'exists; --force overwrites it',
      );
      const signed = await cli([
        'image',
        'sign',
        img,
        '--key',
        key,
        '--hardware-id',
        'hw-1',
        '--version',
        '1.4.2',
      ]);
      expect(signed.code).toBe(0);
      expect(signed.stdout).toContain(`→ ${img}.manifest`);
      const ok = await cli(['image', 'inspect', img, '--key', join(d, 'k.pub.pem'), '--json']);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({
        hardwareId: 'hw-1',
        version: '1.4.2',
        size: 3000,
        imageMatches: true,
        signature: 'valid',
      });
      // Another key, or other bytes: inspect says so and fails.
      await cli(['image', 'keygen', '--out', join(d, 'other.pem')]);
      const wrongKey = await cli(['image', 'inspect', img, '--key', join(d, 'other.pub.pem')]);
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stdout).toMatch(/signature:\s+INVALID/);
      writeFileSync(img, Buffer.alloc(3000, 8));
      expect((await cli(['image', 'inspect', img])).stdout).toMatch(/image:\s+DOES NOT match/);
      expect(
        (await cli(['image', 'sign', img, '--key', key, '--hardware-id', 'x', '--version', '1'])).code,
      ).toBe(2);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('update starts through the API with absolute paths and follows progress to the end', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mcubus-cli-upd-'));
    try {
      const img = join(d, 'app.bin');
      writeFileSync(img, Buffer.alloc(2048, 1));
      writeFileSync(`${img}.manifest`, Buffer.from([0xa0]));
      const r = await cli(['update', '0x21', img, '--chunk', '256', '--socket', socketPath]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n').at(-1)).toBe('0x21 app 9.9.9  done: running 9.9.9, confirmed');
      const call = api.calls.find((c) => c.method === 'startUpdate')!;
      expect(call.args).toEqual([0x21, { image: 2048, envelope: 1, chunkSize: 256 }]);
      const refused = await cli(['update', '0x55', img, '--socket', socketPath]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('no device at 0x55');
      const status = await cli(['update', 'status', '--socket', socketPath]);
      expect(status.stdout.split('\n')[0]).toMatch(
        /^DEVICE\s+VERSION\s+KIND\s+PHASE\s+PROGRESS\s+RATE\s+RETRANSMITTED\s+DETAIL$/,
      );
      expect(status.stdout).toMatch(/0x21\s+9\.9\.9\s+app\s+done\s+2\.0 KiB \/ 2\.0 KiB/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('mcubus update --all', () => {
  it('matches images to devices by hardware id, prints the plan, and follows the campaign', async () => {
    const d = mkdtempSync(join(tmpdir(), 'mcubus-cli-all-'));
    try {
      const key = join(d, 'k.pem');
      await cli(['image', 'keygen', '--out', key]);
      const img = join(d, 'gw.bin');
      writeFileSync(img, Buffer.alloc(1000, 2));
      await cli(['image', 'sign', img, '--key', key, '--hardware-id', 'gw-board', '--version', '2.0.0']);
      const dry = await cli(['update', '--all', img, '--dry-run', '--socket', socketPath]);
      expect(dry.code).toBe(0);
      expect(dry.stdout.split('\n').slice(0, 3)).toEqual([
        'plan:',
        expect.stringMatching(/^BUS\s+STEP\s+DEVICE\s+VERSION\s+PROBLEM$/),
        expect.stringMatching(/^uart0\s+1\s+0x10\s+9\.9\.9/),
      ]);
      expect(api.calls.at(-1)).toEqual({
        method: 'startCampaign',
        args: [{ items: [{ device: 0x10, imagePath: img, manifestPath: `${img}.manifest` }] }, true],
      });
      const run = await cli(['update', '--all', img, '--socket', socketPath]);
      expect(run.code).toBe(0);
      expect(run.stdout.trim().split('\n').at(-1)).toBe('campaign 1 finished: 1 of 1 updated');
      // An image for a board nobody has.
      const other = join(d, 'x.bin');
      writeFileSync(other, Buffer.alloc(10, 1));
      await cli(['image', 'sign', other, '--key', key, '--hardware-id', 'nobody', '--version', '1.0.0']);
      const none = await cli(['update', '--all', other, '--socket', socketPath]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('no known device is a nobody');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('mcubus health', () => {
  it("prints a table of every device's health", async () => {
    const r = await cli(['health', '--socket', socketPath]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ADDRESS\s+NAME\s+STATE\s+MODE\s+HEALTH\s+ROUTE\s+LAST HEARTBEAT\s+INTERVAL\s+RESETS$/,
    );
    expect(lines[1]).toMatch(/^0x10\s+gateway\s+up\s+app\s+ok\s+direct\s+0\.4 s ago\s+1000 ms\s+0$/);
    expect(lines[2]).toMatch(
      /^0x21\s+motor-left\s+unreachable\s+bootloader\s+ok\s+via 0x10\s+2 min ago\s+500 ms\s+1$/,
    );
    expect(lines[3]).toMatch(
      /^0x22\s+motor-right\s+suspect\s+app\s+warning\s+direct\s+2\.6 s ago\s+1000 ms\s+0$/,
    );
    expect(lines[4]).toMatch(/^0x23\s+sensor\s+down\s+app\s+ok\s+direct\s+42 s ago\s+2000 ms\s+2$/);
    expect(lines[5]).toMatch(
      /^0x30\s+pump\s+zombie\s+safe\s+error\s+direct\s+0\.9 s ago\s+1000 ms\s+5 \(crash loop\)$/,
    );
    expect(lines).toHaveLength(6);
  });

  it('ADDR shows the device in detail, then its history newest first', async () => {
    const r = await cli(['health', '0x30', '--socket', socketPath]);
    expect(r.code).toBe(0);
    const [detail, history] = r.stdout.trimEnd().split('\n\n');
    expect(detail!.split('\n')).toEqual([
      'address:    0x30',
      'name:       pump',
      'state:      zombie',
      'mode:       safe',
      'health:     error',
      'route:      direct',
      'heartbeat:  0.9 s ago',
      'interval:   1000 ms',
      'resets:     5',
      'crash loop: yes',
      'last rtt:   3.1 ms',
    ]);
    expect(history!.split('\n')).toEqual([
      'history (newest first):',
      '2023-11-14T22:13:00.000Z  error    0x30   health.state: pump up → zombie (crash loop: 3 resets in 60 s)',
      '2023-11-14T22:13:00.000Z  warning  0x30   health.reset: pump reset (watchdog), reset count 5',
      '2023-11-14T22:12:50.000Z  warning  0x30   health.reset: pump reset (watchdog), reset count 4',
      '2023-11-14T22:12:20.000Z  info     0x30   health.state: pump unknown → up',
    ]);
    const via = await cli(['health', '33', '--limit', '1', '--socket', socketPath]);
    expect(via.stdout).toContain('route:      via 0x10');
    expect(via.stdout.trimEnd().split('\n').at(-1)).toMatch(/health\.state: motor-left up → unreachable/);
    expect(api.calls.at(-1)).toEqual({ method: 'healthOf', args: [0x21, 1] });
  });

  it('--json parses, for the list and for one device', async () => {
    const list = await cli(['health', '--json', '--socket', socketPath]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((h: { state: string }) => h.state)).toEqual([
      'up',
      'unreachable',
      'suspect',
      'down',
      'zombie',
    ]);
    const one = await cli(['health', '0x23', '--json', '--limit', '1', '--socket', socketPath]);
    const parsed = JSON.parse(one.stdout);
    expect(parsed.health.state).toBe('down');
    expect(parsed.history.map((e: { message: string }) => e.message)).toEqual(['sensor suspect → down']);
  });

  it('an unknown device exits 1; bad usage exits 2; no daemon exits 3', async () => {
    const r = await cli(['health', '0x42', '--socket', socketPath]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no device at address 66/);
    for (const argv of [
      ['health', 'zz'],
      ['health', '1', '2'],
      ['health', '--interval', '500'],
      ['health', '--watch', '--interval', '5'],
      ['health', '--limit', '3'],
    ]) {
      const bad = await cli([...argv, '--socket', socketPath]);
      expect(bad.code, argv.join(' ')).toBe(2);
      expect(bad.stderr).toContain('Usage: mcubus health');
    }
    const missing = await cli(['health', '--socket', join(dir, 'nope.sock')]);
    expect(missing.code).toBe(3);
  });

  it('--watch redraws every interval until aborted', async () => {
    const abort = new AbortController();
    let stdout = '';
    let frames = 0;
    const started = Date.now();
    const code = await runCli(['health', '--watch', '--interval', '100', '--socket', socketPath], {
      stdout: {
        write: (s: string) => {
          stdout += s;
          if (++frames === 3) abort.abort();
        },
      },
      stderr: { write: () => {} },
      env: {},
      now: () => NOW,
      signal: abort.signal,
    });
    expect(code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    const titles = stdout.split('\n').filter((l) => l.startsWith('every 100 ms'));
    expect(titles).toHaveLength(3);
    expect(titles[0]).toBe('every 100 ms, 2023-11-14T22:13:20.000Z — Ctrl-C to stop');
    expect(stdout.match(/^0x30\s+pump\s+zombie/gm)).toHaveLength(3);
    expect(api.calls.filter((c) => c.method === 'health')).toHaveLength(3);
  });

  it('--watch --json prints one JSON line per redraw; a pre-aborted signal draws nothing', async () => {
    const abort = new AbortController();
    const lines: string[] = [];
    const code = await runCli(
      ['health', '0x10', '-w', '--interval', '100', '--json', '--socket', socketPath],
      {
        stdout: {
          write: (s: string) => {
            lines.push(s);
            if (lines.length === 2) abort.abort();
          },
        },
        stderr: { write: () => {} },
        env: {},
        signal: abort.signal,
      },
    );
    expect(code).toBe(0);
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(JSON.parse(l).health.address).toBe(0x10);
    const r = await cli(['health', '--watch', '--socket', socketPath], { signal: abort.signal });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  });
});

describe('daemon not running', () => {
  it('a missing socket → clear message, exit 3', async () => {
    const missing = join(dir, 'nope.sock');
    for (const cmd of [['status'], ['devices'], ['events'], ['ping', '1'], ['send', '1', 'x']]) {
      const r = await cli([...cmd, '--socket', missing]);
      expect(r.code, cmd.join(' ')).toBe(3);
      expect(r.stderr).toBe(
        `mcubus: mcubusd is not running (no socket at ${missing}); start it with \`npm start\` or \`mcubusd --config FILE\`\n`,
      );
    }
  });

  it('a stale socket (nothing listening) → exit 3', async () => {
    await server!.close();
    server = undefined;
    // close() removes the socket file; the client reports a missing socket.
    const r = await cli(['status', '--socket', socketPath]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/mcubusd is not running/);
  });

  it('--url to a closed port → exit 3', async () => {
    const r = await cli(['status', '--url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not reachable at http:\/\/127\.0\.0\.1:1/);
  });
});

describe('--help', () => {
  it('global and per command', async () => {
    const g = await cli(['--help']);
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/mcubus status/);
    expect(g.stdout).toMatch(/mcubus health \[ADDR\] \[--watch \[--interval MS\]\]/);
    expect(g.stdout).toMatch(/--socket PATH/);
    for (const c of [
      'status',
      'devices',
      'events',
      'health',
      'time',
      'telemetry',
      'ping',
      'send',
      'decode',
    ]) {
      const r = await cli([c, '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout).toContain(`Usage: mcubus ${c}`);
    }
    expect((await cli(['help', 'ping'])).stdout).toContain('Usage: mcubus ping');
  });
});

describe('ApiClient over TCP with a token', () => {
  it('sends the bearer token and maps errors', async () => {
    const s = await startApiServer(api, {
      socketPath: join(dir, 'tcp.sock'),
      tcp: { host: '0.0.0.0', port: 0, token: 'tok' },
    });
    const url = `http://127.0.0.1:${s.tcpPort}`;
    expect((await new ApiClient({ url, token: 'tok' }).devices()).length).toBe(2);
    const denied = new ApiClient({ url, token: 'bad' }).status();
    await expect(denied).rejects.toBeInstanceOf(ApiResponseError);
    await expect(denied).rejects.toMatchObject({ status: 401, code: 'unauthorized' });
    const r = await cli(['status', '--json', '--url', url, '--token', 'tok']);
    expect(r.code).toBe(0);
    const bad = await cli(['status', '--url', url], { env: { MCUBUS_TOKEN: 'nope' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bearer token/);
    await s.close();
    await expect(new ApiClient({ socketPath: join(dir, 'x.sock') }).status()).rejects.toBeInstanceOf(
      DaemonUnreachableError,
    );
  });
});

describe('format', () => {
  it('formatAgoFine', () => {
    expect(formatAgoFine(NOW - 400, NOW)).toBe('0.4 s ago');
    expect(formatAgoFine(NOW - 9_940, NOW)).toBe('9.9 s ago');
    expect(formatAgoFine(NOW - 12_000, NOW)).toBe('12 s ago');
    expect(formatAgoFine(NOW + 500, NOW)).toBe('0.0 s ago');
    expect(formatAgoFine(NOW + 5_000, NOW)).toBe('in the future');
  });

  it('formatAgo', () => {
    expect(formatAgo(NOW - 3_400, NOW)).toBe('3 s ago');
    expect(formatAgo(NOW - 125_000, NOW)).toBe('2 min ago');
    expect(formatAgo(NOW - 7_300_000, NOW)).toBe('2 h ago');
    expect(formatAgo(NOW - 3 * 86_400_000, NOW)).toBe('3 d ago');
  });
});
