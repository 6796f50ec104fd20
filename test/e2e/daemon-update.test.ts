import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BoardSpec,
  buildBoard,
  buildSignedImage,
  type FlashStorage,
  NS_PER_S,
  referenceBoard,
  SIM_SIGNING_KEY,
  type SimBoard,
} from '@mcubus/firmware-sim';
import { type Daemon, UpdateRefused, type UpdateView } from '@mcubus/host';
import { sha256Digest, signManifest } from '@mcubus/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonOn, settle, stateDirs } from '../support/sim-daemon.js';

/**
 * Firmware updates end to end: the real daemon on the simulated reference board in virtual time —
 * the gateway on the UART, two nodes behind it on CAN, one on Modbus.
 */
const dirs = stateDirs('mcubus-update-e2e-');
afterEach(() => dirs.cleanup());

const HW: Record<number, string> = {
  16: 'mcubus-ref-gw',
  33: 'mcubus-ref-node',
  34: 'mcubus-ref-node',
  48: 'mcubus-ref-modbus',
};
const NAME: Record<number, string> = { 16: 'gw', 33: 'node-a', 34: 'node-b', 48: 'node-m' };

function start(seed: number, spec: BoardSpec = referenceBoard()): { board: SimBoard; daemon: Daemon } {
  const board = buildBoard(spec, seed);
  const { daemon } = daemonOn(board, dirs.make(), { trustedKeys: [SIM_SIGNING_KEY.publicKey] });
  void daemon.start();
  board.sim.runFor(5 * NS_PER_S);
  return { board, daemon };
}

function image(address: number, version: number[], size = 40 * 1024, hardwareId = HW[address]!) {
  return buildSignedImage({ hardwareId, kind: 0, version, size }, SIM_SIGNING_KEY.privateKey);
}

const storage = (board: SimBoard, address: number) => board.mcus.get(NAME[address]!)!.storage as FlashStorage;

/** The image the device's bootloader would start now, and whether it is confirmed. */
function running(board: SimBoard, address: number) {
  const mcu = board.mcus.get(NAME[address]!)!;
  return { version: mcu.bootOutcome?.firmwareVersion.join('.'), mode: mcu.bootOutcome?.mode };
}

describe('firmware updates on the reference board', () => {
  it('updates all four MCUs — through the gateway, on CAN and on Modbus — with the gateway last', async () => {
    const { board, daemon } = start(21);
    const images = new Map([0x21, 0x22, 0x30, 0x10].map((a) => [a, image(a, [1, 1, 0])]));
    const nodes = await settle(
      board,
      Promise.all([0x21, 0x22, 0x30].map((a) => daemon.update(a, images.get(a)!, { trialMs: 2000 }))),
      400_000,
    );
    const gw = await settle(board, daemon.update(0x10, images.get(0x10)!, { trialMs: 2000 }), 100_000);
    for (const v of [...nodes, gw]) {
      expect(v, `0x${v.device.toString(16)}`).toMatchObject({
        phase: 'done',
        acked: v.size,
        version: '1.1.0',
      });
      expect(running(board, v.device)).toEqual({ version: '1.1.0', mode: 'app' });
      // The confirmed slot holds exactly the image's bytes.
      const st = storage(board, v.device);
      const slot = st.store.state.confirmed!;
      const check = st.bootloader.inspectApp(slot);
      expect(check.status).toBe('valid');
      expect(Buffer.from(check.manifest!.sha256)).toEqual(
        Buffer.from(sha256Digest(images.get(v.device)!.image)),
      );
    }
    // The registry learned the new versions from the HELLOs.
    expect(daemon.devices().map((d) => [d.address, d.firmwareVersion])).toEqual([
      [0x10, '1.1.0'],
      [0x21, '1.1.0'],
      [0x22, '1.1.0'],
      [0x30, '1.1.0'],
    ]);
    const phases = daemon
      .events({ device: 0x21, limit: 100 })
      .filter((e) => e.kind.startsWith('update.'))
      .map((e) => e.kind)
      .reverse();
    expect(phases).toEqual([
      'update.start',
      'update.probe',
      'update.begin',
      'update.transfer',
      'update.verify',
      'update.activate',
      'update.boot_wait',
      'update.trial',
      'update.confirm',
      'update.done',
    ]);
    void daemon.stop();
  });

  it('refuses a bad signature, another hardware id and a downgrade before sending a byte', () => {
    const { board, daemon } = start(22);
    const other = generateKeyPairSync('ed25519');
    const good = image(0x10, [1, 1, 0]);
    const badSig = { ...good, envelope: signManifest(good.manifest, other.privateKey) };
    const refused = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(UpdateRefused);
        return (e as UpdateRefused).code;
      }
      return 'accepted';
    };
    expect(refused(() => daemon.update(0x10, badSig))).toBe('signature_invalid');
    expect(refused(() => daemon.update(0x10, image(0x10, [1, 1, 0], 4096, 'mcubus-ref-node')))).toBe(
      'hardware_mismatch',
    );
    expect(refused(() => daemon.update(0x10, image(0x10, [0, 9, 0])))).toBe('downgrade_rejected');
    expect(refused(() => daemon.update(0x10, { ...good, image: good.image.slice(1) }))).toBe('size_mismatch');
    const tampered = good.image.slice();
    tampered[100]! ^= 0x80;
    expect(refused(() => daemon.update(0x10, { ...good, image: tampered }))).toBe('hash_mismatch');
    expect(refused(() => daemon.update(0x44, good))).toBe('unknown_device');
    expect(storage(board, 0x10).receiver.stats.sessions).toBe(0);
    void daemon.stop();
  });

  it('is refused by the device too when such an image is injected directly', async () => {
    const { board, daemon } = start(23);
    const other = generateKeyPairSync('ed25519');
    const begin = (img: ReturnType<typeof image>, envelope = img.envelope) =>
      settle(
        board,
        daemon.request(0x10, {
          type: 'update_begin',
          body: {
            session: 7,
            kind: 0,
            size: img.manifest.size,
            sha256: img.manifest.sha256,
            chunkSize: 1024,
            manifest: envelope,
          },
        }),
      );
    // The device's ERROR, by name.
    const code = (r: Awaited<ReturnType<typeof begin>>) => (r.ok ? 'accepted' : r.error);
    const good = image(0x10, [1, 1, 0]);
    expect(code(await begin(good, signManifest(good.manifest, other.privateKey)))).toBe('signature_invalid');
    expect(code(await begin(image(0x10, [1, 1, 0], 4096, 'mcubus-ref-node')))).toBe('hardware_mismatch');
    // Downgrades are refused by security counter: confirm a counter-5 image, then offer counter 4.
    const five = buildSignedImage(
      { hardwareId: HW[0x10]!, kind: 0, version: [1, 2, 0], securityCounter: 5, size: 8192 },
      SIM_SIGNING_KEY.privateKey,
    );
    expect((await settle(board, daemon.update(0x10, five, { trialMs: 1000 }), 60_000)).phase).toBe('done');
    const four = buildSignedImage(
      { hardwareId: HW[0x10]!, kind: 0, version: [1, 3, 0], securityCounter: 4, size: 8192 },
      SIM_SIGNING_KEY.privateKey,
    );
    expect(code(await begin(four))).toBe('downgrade_rejected');
    void daemon.stop();
  });

  it('resumes after a link outage, a device reset and a power cut, and finishes with the right bytes', async () => {
    const spec = referenceBoard();
    // The UART loses everything for 3 s, 2 s into the transfer.
    const faulty: BoardSpec = {
      ...spec,
      buses: spec.buses.map((b) =>
        b.name === 'uart0' ? { ...b, faults: [{ from: 8 * NS_PER_S, until: 11 * NS_PER_S, drop: 1 }] } : b,
      ),
    };
    const { board, daemon } = start(24, faulty);
    // 160 KiB: about 15 s on the 115 200 baud UART, so every interruption lands mid-transfer.
    const img = image(0x21, [1, 1, 0], 160 * 1024);
    const updating = daemon.update(0x21, img, { trialMs: 1000 });
    const node = board.mcus.get('node-a')!;
    const at = (s: number, fn: () => void) => board.sim.scheduler.at(s * NS_PER_S, fn);
    at(14, () => node.reset(3)); // a reset mid-transfer
    at(19, () => node.powerOff()); // a power cut…
    at(20, () => node.powerOn()); // …and back
    const view: UpdateView = await settle(board, updating, 200_000);
    expect(view).toMatchObject({ phase: 'done', version: '1.1.0' });
    const begins = daemon.events({ device: 0x21, limit: 500 }).filter((e) => e.kind === 'update.begin');
    expect(begins.length).toBeGreaterThanOrEqual(3);
    // Each reopening resumed where the device's progress stood: little was sent twice.
    expect(view.sentBytes).toBeLessThan(1.25 * img.image.length);
    expect(view.retransmittedBytes).toBeGreaterThan(0);
    expect(storage(board, 0x21).receiver.stats.resumedBytes).toBeGreaterThan(0);
    const st = storage(board, 0x21);
    const check = st.bootloader.inspectApp(st.store.state.confirmed!);
    expect(Buffer.from(check.manifest!.sha256)).toEqual(Buffer.from(sha256Digest(img.image)));
    void daemon.stop();
  });

  it('reports "rolled back" with the evidence when the new image crashes on boot', async () => {
    const { board, daemon } = start(25);
    const mcu = board.mcus.get('node-b')!;
    // The new firmware has a bug: it crashes 200 ms after every boot.
    mcu.onBoot(() => {
      if (mcu.bootOutcome?.firmwareVersion.join('.') === '1.1.0') mcu.after(200_000_000, () => mcu.crash());
    });
    const v = await settle(board, daemon.update(0x22, image(0x22, [1, 1, 0]), { trialMs: 5000 }), 100_000);
    expect(v.phase).toBe('rolled_back');
    expect(v.detail).toMatch(/runs 1\.0\.0, not 1\.1\.0/);
    expect(running(board, 0x22)).toEqual({ version: '1.0.0', mode: 'app' });
    const ev = daemon.events({ device: 0x22, limit: 100 }).find((e) => e.kind === 'update.rolled_back')!;
    expect(ev.severity).toBe('error');
    void daemon.stop();
  });
});

describe('bootloader updates', () => {
  it('updates the bootloader of a node behind the gateway; the application keeps running', async () => {
    const { board, daemon } = start(26);
    const bl = buildSignedImage(
      { hardwareId: HW[0x21]!, kind: 1, version: [1, 1, 0], size: 12 * 1024 },
      SIM_SIGNING_KEY.privateKey,
    );
    const v = await settle(board, daemon.update(0x21, bl), 100_000);
    expect(v).toMatchObject({ phase: 'done', kind: 'bootloader', version: '1.1.0' });
    const mcu = board.mcus.get('node-a')!;
    expect(mcu.bootOutcome?.bootloaderVersion.join('.')).toBe('1.1.0');
    expect(running(board, 0x21)).toEqual({ version: '1.0.0', mode: 'app' });
    expect(daemon.device(0x21)?.bootloaderVersion).toBe('1.1.0');
    void daemon.stop();
  });
});

describe('update campaigns', () => {
  /** Image and manifest files for every device of the reference board, in a temp directory. */
  function imageFiles(dir: string) {
    const files = new Map<number, { imagePath: string; manifestPath: string; sha: Buffer }>();
    for (const [address, hw] of Object.entries(HW)) {
      const img = image(Number(address), [1, 2, 0], 32 * 1024, hw);
      const imagePath = join(dir, `${hw}.bin`);
      writeFileSync(imagePath, img.image);
      writeFileSync(`${imagePath}.manifest`, img.envelope);
      files.set(Number(address), {
        imagePath,
        manifestPath: `${imagePath}.manifest`,
        sha: Buffer.from(img.manifest.sha256),
      });
    }
    return files;
  }
  const confirmedSha = (board: SimBoard, address: number) => {
    const st = storage(board, address);
    return Buffer.from(st.bootloader.inspectApp(st.store.state.confirmed!).manifest!.sha256);
  };

  it('plans nodes behind the gateway before it, buses in parallel, and survives a daemon restart', async () => {
    const board = buildBoard(referenceBoard(), 27);
    const state = dirs.make();
    const files = imageFiles(dirs.make());
    const first = daemonOn(board, state, { trustedKeys: [SIM_SIGNING_KEY.publicKey] });
    void first.daemon.start();
    board.sim.runFor(5 * NS_PER_S);
    const items = [0x10, 0x21, 0x22, 0x30].map((device) => ({ device, ...files.get(device)! }));
    const dry = first.daemon.startCampaign({ items, trialMs: 1000 }, true);
    expect(dry.id).toBeUndefined();
    expect(dry.plan.map((p) => [p.bus, p.step, p.device, p.version])).toEqual([
      ['rs485', 0, 0x30, '1.2.0'],
      ['uart0', 0, 0x21, '1.2.0'],
      ['uart0', 1, 0x22, '1.2.0'],
      ['uart0', 2, 0x10, '1.2.0'],
    ]);
    const { id } = first.daemon.startCampaign({ items, trialMs: 1000 }, false);
    expect(id).toBeGreaterThan(0);
    // Mid-campaign the daemon goes away (nothing is written on the way out) and a new one starts.
    await settle(board, new Promise<void>(() => {}), 6_000).catch(() => undefined);
    const progressed = first.daemon.campaigns()[0]!.items.map((i) => i.state);
    expect(progressed).toContain('running');
    await first.daemon.stop();
    first.registry.close();
    const second = daemonOn(board, state, { trustedKeys: [SIM_SIGNING_KEY.publicKey] });
    void second.daemon.start();
    const finished = async () => {
      for (let i = 0; i < 400; i++) {
        const c = second.daemon.campaigns().find((x) => x.id === id)!;
        if (c.state !== 'running') return c;
        await settle(board, new Promise<void>(() => {}), 1_000).catch(() => undefined);
      }
      throw new Error('the campaign did not finish');
    };
    const c = await finished();
    expect(c.state).toBe('finished');
    expect(
      [...c.items].sort((x, y) => x.device - y.device).map((i) => [i.device, i.state, i.detail]),
    ).toEqual([
      [0x10, 'done', 'running 1.2.0, confirmed'],
      [0x21, 'done', 'running 1.2.0, confirmed'],
      [0x22, 'done', 'running 1.2.0, confirmed'],
      [0x30, 'done', 'running 1.2.0, confirmed'],
    ]);
    for (const a of [0x10, 0x21, 0x22, 0x30]) expect(confirmedSha(board, a)).toEqual(files.get(a)!.sha);
    const journal = second.daemon.events({ limit: 500 }).map((e) => e.kind);
    expect(journal).toContain('campaign.resume');
    expect(journal).toContain('campaign.done');
    void second.daemon.stop();
  });

  it('refuses a plan with an unknown device or an unreadable image, and starts nothing', () => {
    const { board, daemon } = start(28);
    const files = imageFiles(dirs.make());
    const r = daemon.startCampaign(
      {
        items: [
          { device: 0x21, ...files.get(0x21)! },
          { device: 0x44, ...files.get(0x21)! },
          { device: 0x22, imagePath: '/nonexistent.bin', manifestPath: files.get(0x22)!.manifestPath },
        ],
      },
      false,
    );
    expect(r.id).toBeUndefined();
    expect(r.plan.filter((p) => p.problem).map((p) => p.device)).toEqual([0x22, 0x44]);
    expect(daemon.campaigns()).toEqual([]);
    expect(storage(board, 0x21).receiver.stats.sessions).toBe(0);
    void daemon.stop();
  });
});
