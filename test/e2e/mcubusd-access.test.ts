import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiTarget, httpCall } from '../support/http-call.js';
import { eventually } from '../support/sim-process.js';

/**
 * Security drill "Access", against the compiled daemon (host/dist/mcubusd.js, what users run) as a
 * process, on the embedded simulated reference board (no other process, no port):
 *  - the control socket has exactly the configured mode, is the daemon's, and the kernel holds other
 *    users to that mode (as root: probes run as uid 65534);
 *  - the daemon opens no listener its configuration did not ask for (its sockets, by inode, in the
 *    kernel's tables of its network namespace);
 *  - a TCP listener on a non-loopback address needs a token: without one the daemon does not start,
 *    with one every TCP request needs it;
 *  - a control API that cannot start stops the daemon (exit 1) instead of leaving it running unreachable.
 */

const root = join(import.meta.dirname, '../..');
const MCUBUSD = join(root, 'host/dist/mcubusd.js');
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
if (!isRoot) {
  // Not something CI can install: only root can run a probe as another user.
  console.warn('skipped: the other-user socket probes need root (they run `node` as uid 65534)');
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(children.splice(0).map(stopDaemon));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-access-'));
  dirs.push(dir);
  // mkdtemp makes it 0700: let other users reach the socket, so that its own mode is what decides.
  chmodSync(dir, 0o755);
  return dir;
}

/** A configuration with the embedded simulated board, no fleet and these extra `api` lines. */
function writeConfig(dir: string, apiLines: string[] = []): string {
  const config = join(dir, 'mcubus.yaml');
  writeFileSync(
    config,
    `stateDir: ${dir}/state
api:
  socket: ${dir}/mcubusd.sock
${apiLines.map((l) => `  ${l}\n`).join('')}simulator:
  scenario: reference
  seed: 3
buses:
  - { name: uart0, type: sim }
  - { name: rs485, type: sim }
`,
  );
  return config;
}

/** GET `path` with these headers; the fields these tests look at. */
async function get(target: ApiTarget, path: string, headers: Record<string, string> = {}) {
  const r = await httpCall(target, 'GET', path, { headers });
  return { status: r.status, contentType: r.headers['content-type'], json: r.json };
}

/** Starts mcubusd on `config` (socket `dir`/mcubusd.sock); resolves once its API answers. */
async function startDaemon(dir: string, config: string): Promise<{ child: ChildProcess; socket: string }> {
  const child = spawn(process.execPath, [MCUBUSD, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const socket = join(dir, 'mcubusd.sock');
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`mcubusd exited ${child.exitCode}: ${log.slice(-800)}`);
      return (await get({ socketPath: socket }, '/v1/status').catch(() => undefined))?.status === 200
        ? true
        : undefined;
    },
    20_000,
    'mcubusd up',
    () => log.slice(-800),
  );
  return { child, socket };
}

function stopDaemon(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Runs mcubusd on `config` to its end (it is expected to refuse to start). */
function runDaemonToExit(config: string) {
  return spawnSync(process.execPath, [MCUBUSD, '--config', config], { encoding: 'utf8', timeout: 20_000 });
}

/** A TCP port free on `host` right now. */
async function freePort(host: string): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function refuses(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ host, port });
    c.once('connect', () => {
      c.destroy();
      resolve('connected');
    });
    c.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
  });
}

/**
 * Connects to the socket as another user and sends GET /v1/status: prints the status line, or the
 * connect error's code (EACCES when the socket's mode keeps that user out).
 */
function probeAs(uid: number, gid: number, socket: string): string {
  const script = `const s = require('node:net').connect(process.argv[1]);
let d = '';
s.on('connect', () => s.write('GET /v1/status HTTP/1.0\\r\\nHost: mcubusd\\r\\n\\r\\n'));
s.on('data', (c) => (d += c));
s.on('end', () => console.log(d.split('\\r\\n')[0]));
s.on('error', (e) => console.log(e.code));`;
  const r = spawnSync(process.execPath, ['-e', script, socket], {
    uid,
    gid,
    cwd: '/',
    encoding: 'utf8',
    timeout: 10_000,
  });
  if (r.status !== 0) throw new Error(`probe as ${uid}:${gid} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Effective uid and gid of a process. */
function idsOf(pid: number): { uid: number; gid: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+\\d+\\s+(\\d+)`, 'm').exec(status)![1]);
  return { uid: field('Uid'), gid: field('Gid') };
}

// ---- What sockets a process holds, from /proc -------------------------------------------------------

/** `pid` and all its descendants (by the parent pid in /proc/N/stat). */
function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses.
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [p, parent] of parentOf) if (parent === tree[i]) tree.push(p);
  }
  return tree;
}

function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {}
  }
  return out;
}

/** "0100007F:1F90" (kernel byte order, 32-bit words) → "127.0.0.1:8080"; IPv6 as "[…]:port". */
function decodeAddress(hex: string): string {
  const [addr, port] = hex.split(':') as [string, string];
  const words = addr.match(/.{8}/g)!.map((w) => Buffer.from(w, 'hex').reverse());
  const bytes = Buffer.concat(words);
  const ip =
    bytes.length === 4
      ? [...bytes].join('.')
      : `[${(bytes.toString('hex').match(/.{4}/g) ?? []).map((g) => g.replace(/^0{1,3}/, '')).join(':')}]`;
  return `${ip}:${Number.parseInt(port, 16)}`;
}

const INET_TABLES = ['tcp', 'tcp6', 'udp', 'udp6', 'udplite', 'udplite6', 'raw', 'raw6', 'icmp', 'icmp6'];

interface Inventory {
  /** The daemon and its descendants. */
  pids: number[];
  /** Every TCP socket held: "LISTEN 127.0.0.1:8080" or "st=01 …". */
  tcp: string[];
  /** Every UDP, UDP-Lite, raw, ping (ICMP) or packet socket held, with its local address. */
  datagram: string[];
  /** Listening Unix sockets held: their paths ('@…' abstract, '' unnamed). */
  unixListening: string[];
  /** Other Unix sockets held (connected: stdio pairs, accepted API connections). */
  unixOther: number;
  netlink: number;
  /** Sockets in none of the tables read: must not exist. */
  unknown: string[];
}

/** The sockets `pid` and its descendants hold, classified with the kernel's tables of their netns. */
function inventory(pid: number): Inventory {
  const pids = processTree(pid);
  const heldNow = () => new Set(pids.flatMap((p) => [...socketInodes(p)]));
  const before = heldNow();
  const tables = new Map<string, string[][]>();
  for (const table of [...INET_TABLES, 'packet', 'netlink', 'unix']) {
    try {
      const text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
      tables.set(
        table,
        text
          .split('\n')
          .slice(1)
          .filter((l) => l.trim() !== '')
          .map((l) => l.trim().split(/\s+/)),
      );
    } catch {}
  }
  // Only sockets open before and after the tables were read: one that the daemon closed meanwhile (a
  // finished API connection) may be gone from its table already.
  const after = heldNow();
  const held = new Set([...before].filter((i) => after.has(i)));
  const rows = (table: string) => tables.get(table) ?? [];
  const inv: Inventory = {
    pids,
    tcp: [],
    datagram: [],
    unixListening: [],
    unixOther: 0,
    netlink: 0,
    unknown: [],
  };
  const seen = new Set<string>();
  for (const table of INET_TABLES.slice(0, 2)) {
    for (const r of rows(table)) {
      if (!held.has(r[9]!)) continue;
      seen.add(r[9]!);
      inv.tcp.push(`${r[3] === '0A' ? 'LISTEN' : `st=${r[3]}`} ${decodeAddress(r[1]!)}`);
    }
  }
  for (const table of INET_TABLES.slice(2)) {
    for (const r of rows(table)) {
      if (!held.has(r[9]!)) continue;
      seen.add(r[9]!);
      inv.datagram.push(`${table} ${decodeAddress(r[1]!)}`);
    }
  }
  for (const r of rows('packet')) {
    if (!held.has(r[8]!)) continue;
    seen.add(r[8]!);
    inv.datagram.push(`packet proto ${r[3]}`);
  }
  for (const r of rows('netlink')) {
    if (!held.has(r[9]!)) continue;
    seen.add(r[9]!);
    inv.netlink++;
  }
  // Num RefCount Protocol Flags Type St Inode Path; flag 0x10000 (__SO_ACCEPTCON) = listening.
  for (const r of rows('unix')) {
    if (!held.has(r[6]!)) continue;
    seen.add(r[6]!);
    if ((Number.parseInt(r[3]!, 16) & 0x10000) !== 0) inv.unixListening.push(r[7] ?? '');
    else inv.unixOther++;
  }
  inv.unknown = [...held].filter((i) => !seen.has(i));
  return inv;
}

const external = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

// ---- The drills --------------------------------------------------------------------------------------

describe('mcubusd access: the control socket', () => {
  for (const mode of [undefined, 0o600] as const) {
    const label = mode === undefined ? 'default mode 0660' : 'socketMode 0600';
    it(`${label}: exactly that mode, the daemon's owner and group; root gets 200`, async () => {
      const dir = tempDir();
      const { child, socket } = await startDaemon(
        dir,
        writeConfig(dir, mode === undefined ? [] : [`socketMode: 0o${mode.toString(8)}`]),
      );
      const st = statSync(socket);
      expect(st.isSocket()).toBe(true);
      expect(st.mode & 0o7777).toBe(mode ?? 0o660);
      const daemonIds = idsOf(child.pid!);
      expect({ uid: st.uid, gid: st.gid }).toEqual(daemonIds);
      const status = await get({ socketPath: socket }, '/v1/status');
      expect(status.status).toBe(200);
      expect((status.json as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/);
    });

    it.skipIf(!isRoot)(`${label}: the kernel keeps other users out (probes as uid ${NOBODY})`, async () => {
      const dir = tempDir();
      const { socket } = await startDaemon(
        dir,
        writeConfig(dir, mode === undefined ? [] : [`socketMode: 0o${mode.toString(8)}`]),
      );
      const { gid } = statSync(socket);
      // Neither owner nor group: refused by the mode, whatever the mode (0660 or 0600).
      expect(probeAs(NOBODY, NOBODY, socket)).toBe('EACCES');
      // Same uid in the socket's group: let in by 0660 (and it gets an answer), kept out by 0600.
      expect(probeAs(NOBODY, gid, socket)).toBe(mode === 0o600 ? 'EACCES' : 'HTTP/1.1 200 OK');
      // The owner (root here) always.
      expect(probeAs(0, 0, socket)).toBe('HTTP/1.1 200 OK');
    });
  }
});

describe('mcubusd access: no listener the configuration did not ask for', () => {
  it('no api.tcp, no fleet: no network socket at all, one listening Unix socket (the configured one)', async () => {
    const dir = tempDir();
    const { child, socket } = await startDaemon(dir, writeConfig(dir));
    // A request has been served (startDaemon's status poll): take the inventory after it, and again.
    for (let i = 0; i < 2; i++) {
      const inv = inventory(child.pid!);
      expect(inv.tcp).toEqual([]);
      expect(inv.datagram).toEqual([]);
      expect(inv.unixListening).toEqual([socket]);
      expect(inv.unknown).toEqual([]);
      expect((await get({ socketPath: socket }, '/v1/status')).status).toBe(200);
    }
  });

  it('api.tcp on 127.0.0.1: exactly one TCP listener, on 127.0.0.1, answering without a token', async () => {
    const dir = tempDir();
    const port = await freePort('127.0.0.1');
    const { child, socket } = await startDaemon(
      dir,
      writeConfig(dir, [`tcp: { host: 127.0.0.1, port: ${port} }`]),
    );
    const inv = inventory(child.pid!);
    expect(inv.tcp).toEqual([`LISTEN 127.0.0.1:${port}`]);
    expect(inv.datagram).toEqual([]);
    expect(inv.unixListening).toEqual([socket]);
    expect(inv.unknown).toEqual([]);
    expect((await get({ host: '127.0.0.1', port }, '/v1/status')).status).toBe(200);
    // Loopback only: not reachable on the machine's other addresses.
    if (external) expect(await refuses(external, port)).toBe('ECONNREFUSED');
  });
});

describe('mcubusd access: TCP on a non-loopback address', () => {
  for (const host of ['0.0.0.0', '::']) {
    it(`host ${host} without a token: exit 2 naming api.tcp.token, nothing opened`, async () => {
      const dir = tempDir();
      const port = await freePort('127.0.0.1');
      const r = runDaemonToExit(writeConfig(dir, [`tcp: { host: '${host}', port: ${port} }`]));
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(
        `api.tcp.token: a token is required when listening on non-loopback host ${host}`,
      );
      expect(existsSync(join(dir, 'mcubusd.sock'))).toBe(false);
      expect(existsSync(join(dir, 'state'))).toBe(false);
      expect(await refuses('127.0.0.1', port)).toBe('ECONNREFUSED');
    });
  }

  it('host 0.0.0.0 with a token: no or a wrong token → 401 JSON, the right one → 200', async () => {
    const dir = tempDir();
    const port = await freePort('0.0.0.0');
    const token = randomBytes(16).toString('hex');
    const { child, socket } = await startDaemon(
      dir,
      writeConfig(dir, [`tcp: { host: 0.0.0.0, port: ${port}, token: ${token} }`]),
    );
    expect(inventory(child.pid!).tcp).toEqual([`LISTEN 0.0.0.0:${port}`]);
    // Via loopback, and via a non-loopback address of this machine when it has one.
    const targets = ['127.0.0.1', ...(external ? [external] : [])];
    for (const host of targets) {
      const t = { host, port };
      const refused: Record<string, string>[] = [
        {},
        { authorization: `Bearer ${token}x` },
        { authorization: token },
        { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` },
      ];
      for (const headers of refused) {
        const r = await get(t, '/v1/status', headers);
        expect({ host, headers, status: r.status }).toEqual({ host, headers, status: 401 });
        expect(r.contentType).toMatch(/^application\/json/);
        expect(r.json).toMatchObject({ error: { code: 'unauthorized', message: expect.any(String) } });
      }
      // The token in the query string does not open the API (only the dashboard's page load).
      expect((await get(t, `/v1/status?token=${token}`)).status).toBe(401);
      const ok = await get(t, '/v1/status', { authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect((ok.json as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/);
    }
    // The Unix socket is guarded by its mode, not by the token.
    expect((await get({ socketPath: socket }, '/v1/status')).status).toBe(200);
  });
});

describe('mcubusd access: a control API that cannot start', () => {
  it('a TCP port already taken: exit 1 with the reason, no socket left behind', async () => {
    const dir = tempDir();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = (taken.address() as { port: number }).port;
      const r = runDaemonToExit(writeConfig(dir, [`tcp: { host: 127.0.0.1, port: ${port} }`]));
      expect(r.signal).toBeNull();
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/the control API did not start: .*EADDRINUSE/);
      expect(existsSync(join(dir, 'mcubusd.sock'))).toBe(false);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('a socket another mcubusd answers on: exit 1, and the first daemon keeps serving', async () => {
    const dir = tempDir();
    const config = writeConfig(dir);
    const { socket } = await startDaemon(dir, config);
    const r = runDaemonToExit(config);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`another mcubusd is already listening on ${socket}`);
    // Refused before it opened the state directory or a bus: it logged nothing (logs go to stdout).
    expect(r.stdout).toBe('');
    expect((await get({ socketPath: socket }, '/v1/status')).status).toBe(200);
  });
});
