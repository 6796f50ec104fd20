import { type BodyOf, ed25519KeyPairFromSeed, type Message } from '@mcubus/protocol';
import { buildSignedImage, provisionBootState, provisionSlot } from '../../src/boot/index.js';
import { makeLayout, type SlotIndex, slotLoadAddress } from '../../src/flash/index.js';
import { ms, Sim, type SimTime, seconds } from '../../src/kernel/index.js';
import { Mcu } from '../../src/mcu/mcu.js';
import { FlashStorage, type ReceiverConfig } from '../../src/update/index.js';

/**
 * A board (app A 1.0.0, security counter 1, confirmed, under bootloader 1.0.0) and a tiny host for
 * the receiver tests (update-receiver*.test.ts), with the receiver's device log lines.
 */
export const vendor = ed25519KeyPairFromSeed(new Uint8Array(32).fill(1));
export const stranger = ed25519KeyPairFromSeed(new Uint8Array(32).fill(9));
export const HW = 'board-x';
export const device = { hardwareId: HW, trustedKeys: [vendor.publicKey] };
export const layout = makeLayout({ sectorCount: 64, firstStageSectors: 2, bootloaderSectors: 6 });
export const CHUNK = 1024;

export type Img = ReturnType<typeof buildSignedImage>;

export function appImage(
  version: number[],
  opts: { sc?: number; size?: number; hw?: string; slot?: SlotIndex; key?: 'stranger'; seed?: string } = {},
): Img {
  return buildSignedImage(
    {
      hardwareId: opts.hw ?? HW,
      kind: 0,
      version,
      securityCounter: opts.sc ?? 2,
      size: opts.size ?? 20_000,
      loadAddress: slotLoadAddress(layout, layout.apps[opts.slot ?? 1]),
      ...(opts.seed ? { contentSeed: opts.seed } : {}),
    },
    opts.key === 'stranger' ? stranger.privateKey : vendor.privateKey,
  );
}

export const blImage = (version: number[], sc = 1) =>
  buildSignedImage({ hardwareId: HW, kind: 1, version, securityCounter: sc, size: 9000 }, vendor.privateKey);

export interface LogLine {
  readonly at: SimTime;
  readonly level: number;
  readonly text: string;
  readonly module: string | undefined;
}

export function rig(opts: { window?: number; state?: object; receiver?: Partial<ReceiverConfig> } = {}) {
  const sim = new Sim(1);
  const logs: LogLine[] = [];
  const s = new FlashStorage(sim, {
    name: 'mcu',
    device,
    layout,
    receiver: { maxChunk: CHUNK, window: opts.window ?? 4, ...opts.receiver },
    log: (level, text, module) => logs.push({ at: sim.now, level, text, module }),
  });
  provisionSlot(s.flash, layout, 1, 0, blImage([1, 0, 0]));
  provisionSlot(s.flash, layout, 0, 0, appImage([1, 0, 0], { sc: 1, slot: 0 }));
  provisionBootState(s.flash, layout, { confirmed: 0, minSecurityCounter: 1, ...opts.state });
  const events: Message[] = [];
  const replies: Message[] = [];
  const boot = (o = {}) => {
    s.powerLost();
    const out = s.powerOn(o);
    sim.runFor(out.bootNs + 1);
    return out;
  };
  /** Sends without waiting; returns the replies this message got so far (live array). */
  const send = (m: Message): Message[] => {
    const mine: Message[] = [];
    s.handleUpdate(
      m,
      (r) => {
        mine.push(r);
        replies.push(r);
      },
      (e) => events.push(e),
    );
    return mine;
  };
  /** Sends a request and runs the simulation until it is answered. */
  const request = (m: Message): Message => {
    const mine = send(m);
    sim.scheduler.runUntilCondition(() => mine.length > 0, sim.now + seconds(10));
    if (!mine[0]) throw new Error(`no answer to ${m.type}`);
    return mine[0];
  };
  const begin = (img: Img, session = 7, extra: Partial<BodyOf<'update_begin'>> = {}) =>
    request({
      type: 'update_begin',
      body: {
        session,
        kind: img.manifest.kind,
        size: img.image.length,
        sha256: img.manifest.sha256,
        chunkSize: CHUNK,
        manifest: img.envelope,
        ...extra,
      },
    });
  const chunk = (img: Img, index: number, session = 7, data?: Uint8Array) =>
    send({
      type: 'update_chunk',
      body: {
        session,
        offset: index * CHUNK,
        data: data ?? img.image.subarray(index * CHUNK, (index + 1) * CHUNK),
      },
    });
  const settle = () => sim.runFor(ms(200));
  /** Sends every chunk from `from` on, within the window, advancing on ACKs (a minimal host). */
  const transfer = (img: Img, from = 0, session = 7, stopAt = img.image.length) => {
    const window = opts.window ?? 4;
    let next = from;
    let cumulative = from;
    while (cumulative < stopAt) {
      while (next < stopAt && next < cumulative + window * CHUNK) {
        chunk(img, next / CHUNK, session);
        next += CHUNK;
      }
      const seen = events.length;
      sim.scheduler.runUntilCondition(() => events.length > seen, sim.now + seconds(1));
      if (events.length === seen) throw new Error(`stalled at ${cumulative}`);
      for (const e of events.slice(seen)) {
        if (e.type === 'update_ack') cumulative = Math.max(cumulative, e.body.cumulative);
      }
    }
    return cumulative;
  };
  boot();
  return { sim, s, events, replies, logs, boot, send, request, begin, chunk, settle, transfer };
}

export const errorOf = (m: Message | undefined) => (m?.type === 'error' ? m.body : null);
export const statusOf = (m: Message | undefined) => (m?.type === 'update_status' ? m.body : null);

/**
 * An Mcu booted from a FlashStorage provisioned with bootloader `bl` in BL-A and application `app`
 * (security counter `sc`) in `slot`, confirmed: the MCU model on top of the update receiver.
 */
export function bootedMcu(o: { bl: number[]; app: number[]; slot: SlotIndex; sc: number }) {
  const sim = new Sim(5);
  const storage = new FlashStorage(sim, { name: 'mcu', device, layout });
  provisionSlot(storage.flash, layout, 1, 0, blImage(o.bl));
  provisionSlot(storage.flash, layout, 0, o.slot, appImage(o.app, { sc: o.sc, slot: o.slot }));
  provisionBootState(storage.flash, layout, { confirmed: o.slot, minSecurityCounter: o.sc });
  const mcu = new Mcu(sim, { name: 'mcu', address: 0x10, hardwareId: HW, routes: [] }, storage);
  mcu.powerOn();
  sim.runFor(ms(500));
  return { sim, storage, mcu };
}
