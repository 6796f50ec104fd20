import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeManifest, sha256Digest } from '@mcubus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signForSimulator, startDaemonProcess } from '../support/daemon-process.js';
import {
  freePort,
  GatedRelay,
  Mosquitto,
  mosquittoCommand,
  type Seen,
  SparkplugWatcher,
  value,
} from '../support/mosquitto.js';
import { assertAvailable, shouldSkip } from '../support/requirements.js';

/**
 * Fleet telemetry against a real Mosquitto: mcubusd (embedded simulated reference board) publishes
 * Sparkplug B through a relay in front of the broker (the relay only holds the daemon back after a
 * broker restart until the test's subscriber is back, see GatedRelay). One daemon and one broker per
 * file; the cases run in order and share them.
 */
describe.skipIf(shouldSkip(mosquittoCommand))('mcubusd fleet (MQTT Sparkplug B) with Mosquitto', () => {
  let dir: string;
  let broker: Mosquitto;
  let relay: GatedRelay;
  let watcher: SparkplugWatcher;
  let http: Server;
  let httpPort: number;
  let daemon: ChildProcess | null = null;
  let config: string;
  const T = 'spBv1.0/lab';
  const isType = (type: string, device?: string) => (s: Seen) =>
    s.type === type && (device === undefined || s.device === device);

  beforeAll(async () => {
    assertAvailable(mosquittoCommand);
    dir = mkdtempSync(join(tmpdir(), 'mcubus-fleet-'));
    broker = new Mosquitto(await freePort());
    await broker.start();
    relay = new GatedRelay(broker.port);
    await relay.listen();
    watcher = await SparkplugWatcher.connect(broker.port);
    // The image server: files of `dir` by name.
    http = createServer((req, res) => {
      try {
        res.end(readFileSync(join(dir, 'www', req.url!.slice(1))));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as { port: number }).port;
    config = join(dir, 'mcubus.yaml');
    writeFileSync(
      config,
      `stateDir: ${dir}/state
api:
  socket: ${dir}/mcubusd.sock
simulator:
  scenario: reference
  seed: 3
buses:
  - { name: uart0, type: sim }
  - { name: rs485, type: sim }
fleet:
  broker: mqtt://127.0.0.1:${relay.port}
  groupId: lab
  edgeNodeId: board-7
  publishEveryMs: 200
`,
    );
  }, 30_000);

  afterAll(async () => {
    daemon?.kill('SIGKILL');
    await watcher?.close();
    await relay?.stop();
    await broker?.stop();
    await new Promise((r) => (http ? http.close(r) : r(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const startDaemon = async () => {
    const d = await startDaemonProcess(dir, config, { fromSource: true });
    daemon = d.child;
  };

  it('publishes NBIRTH and DBIRTHs, honours Rebirth, and the will is an NDEATH with the bdSeq', async () => {
    const from = watcher.seen.length;
    await startDaemon();
    const nbirth = await watcher.next(isType('NBIRTH'), 'NBIRTH', from);
    expect(nbirth.topic).toBe(`${T}/NBIRTH/board-7`);
    expect(nbirth.payload.seq).toBe(0);
    expect(value(nbirth, 'bdSeq')).toBe(0);
    expect(value(nbirth, 'Node Control/Rebirth')).toBe(false);
    expect(value(nbirth, 'Buses/uart0/State')).toBe('open');
    // Every MCU of the reference board is born as it is discovered.
    const births = new Map<string, Seen>();
    for (const id of ['mcu-0x10', 'mcu-0x21', 'mcu-0x22', 'mcu-0x30']) {
      births.set(id, await watcher.next(isType('DBIRTH', id), `DBIRTH ${id}`, from));
    }
    const a = births.get('mcu-0x21')!;
    expect(value(a, 'Properties/Hardware Id')).toBe('mcubus-ref-node');
    expect(value(a, 'Properties/Address')).toBe(0x21);
    expect(value(a, 'Versions/Firmware')).toMatch(/^\d+\.\d+\.\d+/);
    expect(a.payload.metrics.find((m) => m.name === 'Clock/Offset us')?.type).toBe('Double');
    expect(value(births.get('mcu-0x30')!, 'Properties/Hardware Id')).toBe('mcubus-ref-modbus');
    // The clock alignment reaches the fleet: a synced clock with an error bound.
    const synced = await watcher.next(
      (s) => s.device === 'mcu-0x21' && value(s, 'Clock/Synced') === true,
      'mcu-0x21 clock synced',
      from,
    );
    const bound = await watcher.next(
      (s) => s.device === 'mcu-0x21' && typeof value(s, 'Clock/Bound us') === 'number',
      'mcu-0x21 clock bound',
      from,
    );
    expect(value(bound, 'Clock/Bound us') as number).toBeGreaterThan(0);
    console.log(
      `fleet: NBIRTH bdSeq=0, ${births.size} DBIRTHs; mcu-0x21 firmware ${value(a, 'Versions/Firmware')}, ` +
        `clock synced (${synced.type}), bound ${value(bound, 'Clock/Bound us')} µs`,
    );
    // seq runs on over every message of the session.
    const session = watcher.seen.slice(watcher.seen.indexOf(nbirth)).filter((s) => s.type !== 'NDEATH');
    expect(session.slice(1, 30).map((s) => s.payload.seq)).toEqual(session.slice(1, 30).map((_, i) => i + 1));

    const beforeRebirth = watcher.seen.length;
    await watcher.command(`${T}/NCMD/board-7`, [
      { name: 'Node Control/Rebirth', type: 'Boolean', value: true },
    ]);
    const reborn = await watcher.next(isType('NBIRTH'), 'NBIRTH after Rebirth', beforeRebirth);
    expect([reborn.payload.seq, value(reborn, 'bdSeq')]).toEqual([0, 0]);
    await watcher.next(isType('DBIRTH', 'mcu-0x22'), 'DBIRTH after Rebirth', beforeRebirth);

    const beforeKill = watcher.seen.length;
    daemon!.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
    const death = await watcher.next(isType('NDEATH'), 'NDEATH (the will)', beforeKill, 10_000);
    expect(death.topic).toBe(`${T}/NDEATH/board-7`);
    expect(death.payload.metrics).toEqual([{ name: 'bdSeq', type: 'UInt64', value: 0 }]);

    // The next session of the daemon has the next bdSeq.
    const beforeRestart = watcher.seen.length;
    await startDaemon();
    const again = await watcher.next(isType('NBIRTH'), 'NBIRTH after restart', beforeRestart);
    expect(value(again, 'bdSeq')).toBe(1);
    console.log(`fleet: SIGKILL → NDEATH bdSeq=0 from the will; restart → NBIRTH bdSeq=1`);
  }, 120_000);

  it('rejects unsigned and wrong-hardware DCMDs with a reason, and a signed DCMD update completes', async () => {
    const www = join(dir, 'www');
    mkdirSync(www, { recursive: true });
    await signForSimulator(
      www,
      join(www, 'node.bin'),
      Buffer.alloc(6 * 1024, 0x5a),
      'mcubus-ref-node',
      '1.7.0',
    );
    await signForSimulator(www, join(www, 'gw.bin'), Buffer.alloc(6 * 1024, 0x6b), 'mcubus-ref-gw', '1.7.0');
    // An unsigned manifest: the manifest CBOR itself, no signed envelope around it.
    const raw = Buffer.alloc(6 * 1024, 0x5a);
    writeFileSync(join(www, 'unsigned.bin'), raw);
    writeFileSync(
      join(www, 'unsigned.bin.manifest'),
      encodeManifest({
        hardwareId: 'mcubus-ref-node',
        kind: 0,
        version: [1, 7, 0],
        securityCounter: 0,
        sha256: sha256Digest(raw),
        size: raw.length,
      }),
    );
    const url = (f: string) => `http://127.0.0.1:${httpPort}/${f}`;
    const dcmd = `${T}/DCMD/board-7/mcu-0x21`;
    const outcome = (status: string, from: number) =>
      watcher.next(
        (s) => s.device === 'mcu-0x21' && value(s, 'Command/Status') === status,
        `mcu-0x21 Command/Status ${status}`,
        from,
      );

    let from = watcher.seen.length;
    await watcher.command(dcmd, [
      { name: 'Device Control/Update', type: 'String', value: url('unsigned.bin') },
    ]);
    const unsigned = await outcome('rejected', from);
    expect(value(unsigned, 'Command/Reason')).toMatch(
      /^not_signed: the manifest is not a signed manifest envelope/,
    );

    from = watcher.seen.length;
    await watcher.command(dcmd, [{ name: 'Device Control/Update', type: 'String', value: url('gw.bin') }]);
    const wrongHw = await outcome('rejected', from);
    expect(value(wrongHw, 'Command/Reason')).toBe(
      'hardware_mismatch: mcu-0x21 is mcubus-ref-node; the image is for mcubus-ref-gw',
    );
    // Every command counts (the count went out with the 'downloading' status: only changes are sent).
    expect(watcher.latest('mcu-0x21', 'Command/Count')).toBe(2);

    from = watcher.seen.length;
    await watcher.command(dcmd, [
      { name: 'Device Control/Update', type: 'String', value: url('node.bin') },
      { name: 'Device Control/Update Manifest', type: 'String', value: url('node.bin.manifest') },
    ]);
    const accepted = await outcome('accepted', from);
    const campaign = value(accepted, 'Command/Campaign');
    expect(value(accepted, 'Command/Reason')).toBe(
      `campaign ${campaign}: application 1.7.0 for mcubus-ref-node to mcu-0x21`,
    );
    const finished = await watcher.next(
      (s) =>
        s.type === 'NDATA' &&
        value(s, 'Campaign/State') !== undefined &&
        value(s, 'Campaign/State') !== 'running',
      'the campaign finished',
      from,
      120_000,
    );
    expect([watcher.latest(undefined, 'Campaign/Id'), value(finished, 'Campaign/State')]).toEqual([
      campaign,
      'finished',
    ]);
    expect(watcher.latest(undefined, 'Campaign/Items Done')).toBe(1);
    const running = await watcher.next(
      (s) => s.device === 'mcu-0x21' && value(s, 'Versions/Firmware') === '1.7.0',
      'mcu-0x21 on 1.7.0',
      from,
    );
    console.log(
      `fleet: DCMD unsigned → "${value(unsigned, 'Command/Reason')}"; wrong hardware → ` +
        `"${value(wrongHw, 'Command/Reason')}"; signed → campaign ${campaign} finished, mcu-0x21 ` +
        `${running.type} Versions/Firmware=1.7.0`,
    );
  }, 180_000);

  it('survives a broker restart: new NBIRTH with the next bdSeq, and the DBIRTHs again', async () => {
    const last = [...watcher.seen].reverse().find(isType('NBIRTH'))!;
    const bdSeq = value(last, 'bdSeq') as number;
    relay.close();
    await watcher.close();
    await broker.stop();
    await broker.start();
    watcher = await SparkplugWatcher.connect(broker.port);
    relay.open();
    const nbirth = await watcher.next(isType('NBIRTH'), 'NBIRTH after the broker restart', 0, 30_000);
    expect([nbirth.payload.seq, value(nbirth, 'bdSeq')]).toEqual([0, bdSeq + 1]);
    for (const id of ['mcu-0x10', 'mcu-0x21', 'mcu-0x22', 'mcu-0x30']) {
      await watcher.next(isType('DBIRTH', id), `DBIRTH ${id} after the broker restart`);
    }
    // The will registered with the new session carries the new bdSeq too.
    const before = watcher.seen.length;
    daemon!.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));
    daemon = null;
    const death = await watcher.next(isType('NDEATH'), 'NDEATH after the restart', before, 10_000);
    expect(value(death, 'bdSeq')).toBe(bdSeq + 1);
    console.log(
      `fleet: broker restart → NBIRTH bdSeq=${bdSeq + 1} and 4 DBIRTHs; will NDEATH bdSeq=${bdSeq + 1}`,
    );
  }, 90_000);
});
