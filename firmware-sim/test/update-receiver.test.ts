import { ErrorCode, type Message, SlotFlag } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { slotCapacity, slotImageOffset, slotLoadAddress } from '../src/flash/index.js';
import { seconds } from '../src/kernel/index.js';
import { sackChunks } from '../src/update/index.js';
import { errorReply } from '../src/update/replies.js';
import {
  appImage,
  blImage,
  bootedMcu,
  CHUNK,
  errorOf,
  layout,
  rig as sharedRig,
  statusOf,
} from './support/update-rig.js';

/** The shared rig, with the original options of these tests. */
const rig = (opts: { window?: number; state?: object; holdWindowForErase?: boolean } = {}) =>
  sharedRig({
    ...(opts.window !== undefined ? { window: opts.window } : {}),
    ...(opts.state ? { state: opts.state } : {}),
    receiver: { holdWindowForErase: opts.holdWindowForErase ?? false },
  });

const acks = (events: Message[]) =>
  events.flatMap((e) =>
    e.type === 'update_ack'
      ? [
          {
            cumulative: e.body.cumulative,
            sack: e.body.sack ? Array.from(e.body.sack) : undefined,
            window: e.body.window,
          },
        ]
      : [],
  );

describe('update receiver: a complete application update', () => {
  it('begins, takes every chunk, verifies, activates, test-boots and confirms', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    expect(statusOf(r.begin(img))).toEqual({
      session: 7,
      state: 1,
      kind: 0,
      sha256: img.manifest.sha256,
      received: 0,
      size: 20_000,
      maxChunk: 1024,
      window: 4,
      flashWriteUs: 6280, // 128 × 10 µs program + a quarter of a 20 ms sector erase
    });
    expect(r.transfer(img)).toBe(20_000);
    expect(r.s.flash.read(slotImageOffset(layout, layout.apps[1]), 20_000)).toEqual(img.image);
    const verified = statusOf(r.request({ type: 'update_verify', body: { session: 7 } }));
    expect(verified).toMatchObject({ state: 3, received: 20_000 });
    expect(r.request({ type: 'update_activate', body: { session: 7 } })).toEqual({ type: 'ok', body: {} });
    expect(r.s.store.state).toMatchObject({ confirmed: 0, pending: 1, testAttempted: false });
    const test = r.boot();
    expect(test).toMatchObject({ mode: 'app', firmwareVersion: [2, 0, 0], testBoot: true });
    expect(r.request({ type: 'update_confirm', body: {} })).toEqual({ type: 'ok', body: {} });
    expect(r.s.store.state).toMatchObject({ confirmed: 1, pending: null, minSecurityCounter: 2 });
    expect(r.boot()).toMatchObject({
      firmwareVersion: [2, 0, 0],
      testBoot: false,
      note: 'confirmed: slot B v2.0.0',
    });
    expect(r.s.receiver.drops.total()).toBe(0);
    expect(r.s.receiver.errorsSent.total()).toBe(0);
  });

  it('acknowledges at least every window/2 chunks while writes are queued, and when the queue drains', () => {
    const r = rig({ window: 8 });
    const img = appImage([2, 0, 0]);
    r.begin(img);
    for (let i = 0; i < 8; i++) r.chunk(img, i); // all arrive while the first sector erase runs
    r.settle();
    expect(acks(r.events)).toEqual([
      { cumulative: 4096, sack: undefined, window: 8 },
      { cumulative: 8192, sack: undefined, window: 8 },
    ]);
  });
});

describe('update receiver: window, out-of-order chunks and the sack bitmap', () => {
  it('with holdWindowForErase, offers nothing beyond a chunk that starts an erase until it is stored', () => {
    const r = rig({ window: 8, holdWindowForErase: true });
    const img = appImage([2, 0, 0]);
    const count = Math.ceil(img.image.length / CHUNK);
    const imageStart = slotImageOffset(layout, layout.apps[1]);
    /** Chunk i reaches into a sector that no chunk before it touched: writing it erases first. */
    const startsErase = (i: number) =>
      i === 0 ||
      Math.floor((imageStart + Math.min((i + 1) * CHUNK, img.image.length) - 1) / layout.sectorSize) >
        Math.floor((imageStart + i * CHUNK - 1) / layout.sectorSize);
    // A host that sends exactly what each acknowledgement offers.
    let window = statusOf(r.begin(img))?.window ?? 0;
    let cumulative = 0;
    let next = 0;
    let seen = 0;
    const violations: number[] = [];
    while (cumulative < img.image.length) {
      for (; next < count && next < cumulative / CHUNK + window; next++) {
        // Sending chunk `next` while an erase-starting chunk before it is not yet stored would put
        // bytes on the line during that erase.
        for (let i = cumulative / CHUNK; i < next; i++) if (startsErase(i)) violations.push(next);
        r.chunk(img, next);
      }
      r.sim.scheduler.runUntilCondition(() => r.events.length > seen, r.sim.now + seconds(1));
      const latest = acks(r.events.slice(seen)).at(-1);
      if (!latest) throw new Error(`stalled at ${cumulative}`);
      seen = r.events.length;
      cumulative = latest.cumulative;
      window = latest.window ?? 0;
    }
    expect(violations).toEqual([]);
    expect(r.s.receiver.drops.total()).toBe(0);
    expect(r.s.flash.read(slotImageOffset(layout, layout.apps[1]), img.image.length)).toEqual(img.image);
  });

  it('without it, offers its whole window across sector boundaries', () => {
    const r = rig({ window: 8 });
    expect(statusOf(r.begin(appImage([2, 0, 0])))?.window).toBe(8);
  });

  it('offers the RAM of its window to smaller chunks: 4 × 1 KiB buffers take 16 chunks of 256 bytes', () => {
    const r = rig({ window: 4 });
    const img = appImage([2, 0, 0]);
    r.begin(img, 7, { chunkSize: 256 });
    const small = (index: number) =>
      r.send({
        type: 'update_chunk',
        body: { session: 7, offset: index * 256, data: img.image.subarray(index * 256, (index + 1) * 256) },
      });
    small(15); // the last chunk the window holds: taken (a gap before it, reported at once)
    small(16); // one beyond: dropped
    r.settle();
    expect(r.s.receiver.drops.snapshot()).toEqual({ beyond_window: 1 });
    expect(acks(r.events).map((a) => a.window)).toEqual([16, 16]);
  });

  it('reports a gap at once with the chunks stored beyond it, and closes it with a cumulative ACK', () => {
    const r = rig({ window: 8 });
    const img = appImage([2, 0, 0]);
    r.begin(img);
    for (const i of [0, 3, 5]) r.chunk(img, i);
    r.settle();
    // chunk 0 stored; chunk 3 opens a gap (sack bit 1 = chunk 1+1+1); chunk 5 waits for the next ACK.
    expect(acks(r.events)).toEqual([{ cumulative: 1024, sack: [0b10], window: 8 }]);
    r.chunk(img, 1);
    r.settle();
    expect(acks(r.events)[1]).toEqual({ cumulative: 2048, sack: [0b101], window: 8 });
    expect(sackChunks(2, Uint8Array.of(0b101))).toEqual([3, 5]);
    for (const i of [2, 4]) r.chunk(img, i);
    r.settle();
    expect(acks(r.events).at(-1)).toEqual({ cumulative: 6144, sack: undefined, window: 8 });
  });

  it('drops chunks beyond the window and duplicates (counted), answering with the current ACK', () => {
    const r = rig({ window: 4 });
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.chunk(img, 4); // cumulative 0, window 4: chunks 0..3 only
    r.settle();
    expect(acks(r.events)).toEqual([{ cumulative: 0, sack: undefined, window: 4 }]);
    r.chunk(img, 0);
    r.settle();
    r.chunk(img, 0);
    r.settle();
    expect(acks(r.events).map((a) => a.cumulative)).toEqual([0, 1024, 1024]);
    expect(r.s.receiver.drops.snapshot()).toEqual({ beyond_window: 1, duplicate: 1 });
  });

  it('drops and counts chunks of another session without answering', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    expect(r.chunk(img, 0, 99)).toEqual([]);
    r.settle();
    expect(r.events).toEqual([]);
    expect(r.s.receiver.drops.get('other_session')).toBe(1);
    expect(r.s.flash.stats.programs).toBe(1); // only the BEGIN record
  });
});

describe('update receiver: every error it answers', () => {
  it('bad_offset for a chunk off the chunk grid or past the end (detail: the resume point)', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    const off = r.send({
      type: 'update_chunk',
      body: { session: 7, offset: 100, data: new Uint8Array(1024) },
    });
    expect(errorOf(off[0])).toMatchObject({ code: ErrorCode.bad_offset, requestType: 0x11, detail: 0 });
    const past = r.send({
      type: 'update_chunk',
      body: { session: 7, offset: 20 * 1024, data: new Uint8Array(8) },
    });
    expect(errorOf(past[0])).toMatchObject({ code: ErrorCode.bad_offset });
  });

  it('bad_request for a wrong chunk length, a chunk size off the write unit, no manifest, an unknown kind', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    const short = r.send({
      type: 'update_chunk',
      body: { session: 7, offset: 0, data: new Uint8Array(1000) },
    });
    expect(errorOf(short[0])).toMatchObject({ code: ErrorCode.bad_request, detail: 1024 });
    expect(errorOf(r.begin(img, 8, { chunkSize: 1020 }))).toMatchObject({
      code: ErrorCode.bad_request,
      detail: 8,
    });
    const { manifest: _, ...noManifest } = {
      session: 8,
      kind: 0,
      size: 20_000,
      sha256: img.manifest.sha256,
      chunkSize: 1024,
      manifest: 0,
    };
    expect(errorOf(r.request({ type: 'update_begin', body: noManifest }))).toMatchObject({
      code: ErrorCode.bad_request,
    });
    expect(errorOf(r.begin(img, 8, { kind: 3 }))).toMatchObject({ code: ErrorCode.bad_request });
    expect(errorOf(r.begin(img, 8, { size: 19_999 }))).toMatchObject({ code: ErrorCode.bad_request });
  });

  it('bad_request with the right address when the image is linked for the other slot', () => {
    const r = rig();
    const err = errorOf(r.begin(appImage([2, 0, 0], { slot: 0 })));
    expect(err).toMatchObject({
      code: ErrorCode.bad_request,
      detail: slotLoadAddress(layout, layout.apps[1]),
    });
  });

  it('too_large for a chunk size above maxChunk, no_space for an image larger than the slot', () => {
    const r = rig();
    expect(errorOf(r.begin(appImage([2, 0, 0]), 7, { chunkSize: 2048 }))).toMatchObject({
      code: ErrorCode.too_large,
      detail: 1024,
    });
    const room = slotCapacity(layout, layout.apps[1]);
    expect(errorOf(r.begin(appImage([2, 0, 0], { size: room + 8 })))).toMatchObject({
      code: ErrorCode.no_space,
      detail: room,
    });
  });

  it('signature_invalid, hardware_mismatch, hash_mismatch and downgrade_rejected at BEGIN, before any erase', () => {
    const r = rig();
    const ops = r.s.flash.opsStarted;
    expect(errorOf(r.begin(appImage([2, 0, 0], { key: 'stranger' })))?.code).toBe(
      ErrorCode.signature_invalid,
    );
    expect(errorOf(r.begin(appImage([2, 0, 0], { hw: 'board-y' })))?.code).toBe(ErrorCode.hardware_mismatch);
    const img = appImage([2, 0, 0]);
    expect(errorOf(r.begin(img, 7, { sha256: new Uint8Array(32) }))?.code).toBe(ErrorCode.hash_mismatch);
    expect(errorOf(r.begin(appImage([3, 0, 0], { sc: 0 })))).toMatchObject({
      code: ErrorCode.downgrade_rejected,
      detail: 1,
    });
    expect(errorOf(r.begin(blImage([1, 0, 0], 5)))).toMatchObject({ code: ErrorCode.downgrade_rejected });
    expect(errorOf(r.begin(blImage([2, 0, 0], 0)))).toMatchObject({
      code: ErrorCode.downgrade_rejected,
      detail: 1,
    });
    expect(r.s.flash.opsStarted).toBe(ops);
    expect(r.s.receiver.errorsSent.snapshot()).toEqual({
      downgrade_rejected: 3,
      hardware_mismatch: 1,
      hash_mismatch: 1,
      signature_invalid: 1,
    });
  });

  it('hash_mismatch at VERIFY when a stored chunk differs; the resume point goes back to 0', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    const bad = img.image.slice(5 * CHUNK, 6 * CHUNK);
    bad[17]! ^= 1;
    r.transfer(img, 0, 7, 5 * CHUNK);
    r.chunk(img, 5, 7, bad);
    r.settle();
    r.transfer(img, 6 * CHUNK);
    const st = statusOf(r.request({ type: 'update_verify', body: { session: 7 } }));
    expect(st).toMatchObject({ state: 4, error: ErrorCode.hash_mismatch, received: 20_000 });
    expect(r.s.bootloader.inspectApp(1).status).toBe('empty'); // no header was written
    r.settle();
    expect(r.s.store.state.progress?.received).toBe(0);
    expect(statusOf(r.begin(img, 8))).toMatchObject({ session: 8, state: 1, received: 0 });
  });

  it('bad_session for VERIFY, ACTIVATE and ABORT of a session that is not open', () => {
    const r = rig();
    r.begin(appImage([2, 0, 0]));
    for (const type of ['update_verify', 'update_activate', 'update_abort'] as const) {
      expect(errorOf(r.request({ type, body: { session: 8 } } as Message))?.code).toBe(ErrorCode.bad_session);
    }
  });

  it('bad_state: VERIFY of an incomplete image, ACTIVATE before VERIFY, CONFIRM in the bootloader', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.transfer(img, 0, 7, 4096);
    expect(errorOf(r.request({ type: 'update_verify', body: { session: 7 } }))).toMatchObject({
      code: ErrorCode.bad_state,
      detail: 4096,
    });
    expect(errorOf(r.request({ type: 'update_activate', body: { session: 7 } }))?.code).toBe(
      ErrorCode.bad_state,
    );
    r.boot({ stayInBootloader: true });
    expect(errorOf(r.request({ type: 'update_confirm', body: {} }))?.code).toBe(ErrorCode.bad_state);
  });

  it('bad_state for BEGIN while a test image runs (both slots are needed: confirm or reset first)', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.transfer(img);
    r.request({ type: 'update_verify', body: { session: 7 } });
    r.request({ type: 'update_activate', body: { session: 7 } });
    expect(r.boot()).toMatchObject({ testBoot: true });
    expect(errorOf(r.begin(appImage([3, 0, 0], { sc: 3 })))?.code).toBe(ErrorCode.bad_state);
    expect(errorOf(r.request({ type: 'update_confirm', body: { slot: 0 } }))).toMatchObject({
      code: ErrorCode.bad_state,
      detail: 1,
    });
  });

  it('busy while a slow request (signature check) is under way', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    const first = r.send({
      type: 'update_begin',
      body: {
        session: 7,
        kind: 0,
        size: 20_000,
        sha256: img.manifest.sha256,
        chunkSize: CHUNK,
        manifest: img.envelope,
      },
    });
    const second = r.send({ type: 'update_verify', body: { session: 7 } });
    expect(errorOf(second[0])?.code).toBe(ErrorCode.busy);
    r.settle();
    expect(statusOf(first[0])?.state).toBe(1);
  });

  it('flash_error when a chunk write fails; the session stops until a BEGIN resumes it', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.transfer(img, 0, 7, 8192);
    r.settle();
    r.s.flash.failWriteAtOp(r.s.flash.opsStarted + 2); // erase of the third sector, then this program
    const failed = r.chunk(img, 8);
    r.settle();
    expect(errorOf(failed[0])).toMatchObject({ code: ErrorCode.flash_error, detail: 8192 });
    expect(errorOf(r.chunk(img, 9)[0])?.code).toBe(ErrorCode.flash_error);
    expect(r.s.receiver.drops.get('session_failed')).toBe(1);
    expect(statusOf(r.begin(img, 8))).toMatchObject({ session: 8, received: 8192 });
    r.transfer(img, 8192, 8);
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 8 } }))?.state).toBe(3);
    expect(r.s.flash.errors.snapshot()).toEqual({ injected: 1 });
  });
});

describe('update receiver: resume', () => {
  it('after a reset, BEGIN of the same image answers the persisted, sector-aligned resume point', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.transfer(img, 0, 7, 10 * CHUNK);
    r.settle();
    expect(r.s.store.state.progress).toMatchObject({ slot: 1, received: 8192 });
    r.boot();
    const st = statusOf(r.request({ type: 'update_status_req', body: { sha256: img.manifest.sha256 } }));
    expect(st).toMatchObject({ session: 0, state: 0, received: 8192, size: 20_000 });
    expect(statusOf(r.begin(img, 9))).toMatchObject({ session: 9, state: 1, received: 8192 });
    const storedBefore = r.s.receiver.stats.chunksStored;
    r.transfer(img, 8192, 9);
    expect(r.s.receiver.stats.chunksStored - storedBefore).toBe(12); // chunks 8..19, nothing before
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 9 } }))?.state).toBe(3);
    expect(r.s.receiver.stats.resumedBytes).toBe(8192);
  });

  it('rounds the resume point to the new chunk size when the host changes it', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.transfer(img, 0, 7, 10 * CHUNK);
    r.settle();
    r.boot();
    // 8192 is a multiple of 512 (and of the 4 KiB sector): resume there.
    expect(statusOf(r.begin(img, 9, { chunkSize: 512 }))?.received).toBe(8192);
    // With 768-byte chunks the resume points are multiples of lcm(768, 4096) = 12288: back to 0.
    expect(statusOf(r.begin(img, 10, { chunkSize: 768 }))?.received).toBe(0);
    expect(r.s.store.state.progress?.received).toBe(0);
  });

  it('after a link loss, BEGIN under a new session id keeps what RAM holds; old-session chunks are dropped', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.transfer(img, 0, 7, 5 * CHUNK);
    expect(statusOf(r.begin(img, 8))).toMatchObject({ session: 8, received: 5120 });
    r.chunk(img, 5, 7);
    expect(r.s.receiver.drops.get('other_session')).toBe(1);
    r.transfer(img, 5120, 8);
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 8 } }))?.state).toBe(3);
  });

  it('ABORT keeps the stored data for a later BEGIN of the same image', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.transfer(img, 0, 7, 9 * CHUNK);
    r.settle();
    expect(r.request({ type: 'update_abort', body: { session: 7, reason: ErrorCode.aborted } })).toEqual({
      type: 'ok',
      body: {},
    });
    expect(statusOf(r.request({ type: 'update_status_req', body: {} }))).toMatchObject({
      session: 0,
      state: 0,
    });
    expect(statusOf(r.begin(img, 11))).toMatchObject({ received: 8192 });
  });

  it('a different image restarts from 0 and withdraws nothing it should not', () => {
    const r = rig();
    const a = appImage([2, 0, 0]);
    r.begin(a);
    r.transfer(a, 0, 7, 9 * CHUNK);
    r.settle();
    const b = appImage([2, 0, 1], { seed: 'other' });
    expect(statusOf(r.begin(b, 8))).toMatchObject({ received: 0 });
    r.transfer(b, 0, 8);
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 8 } }))?.state).toBe(3);
    expect(r.s.bootloader.inspectApp(1).manifest?.version).toEqual([2, 0, 1]);
  });
});

describe('update receiver: bootloader update', () => {
  it('writes the inactive bootloader slot, commits it at ACTIVATE, and the first stage starts it', () => {
    const r = rig();
    const img = blImage([2, 0, 0], 2);
    expect(statusOf(r.begin(img))).toMatchObject({ kind: 1, received: 0 });
    r.transfer(img);
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 7 } }))?.state).toBe(3);
    expect(r.s.bootloader.inspectBootloader(1)).toMatchObject({ status: 'valid', committed: false });
    expect(r.boot().bootloaderVersion).toEqual([1, 0, 0]); // verified but not committed: not started
    r.begin(img, 8);
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 8 } }))?.state).toBe(3);
    expect(r.request({ type: 'update_activate', body: { session: 8 } })).toEqual({ type: 'ok', body: {} });
    expect(r.boot()).toMatchObject({ bootloaderVersion: [2, 0, 0], firmwareVersion: [1, 0, 0], mode: 'app' });
    expect(r.s.running?.blSlot).toBe(1);
  });
});

describe('FlashStorage as the MCU model storage', () => {
  it('boots an Mcu from its flash: HELLO shows the versions and slots the bootloader found', () => {
    const { mcu } = bootedMcu({ bl: [1, 4, 0], app: [3, 1, 0], slot: 1, sc: 2 });
    expect(mcu.state).toBe('running');
    const hello = mcu.identity();
    expect(hello).toMatchObject({
      firmwareVersion: [3, 1, 0],
      bootloaderVersion: [1, 4, 0],
      securityCounter: 2,
    });
    expect(hello.slots.map((x) => [x.index, x.flags])).toEqual([
      [0, 0],
      [1, SlotFlag.active | SlotFlag.confirmed | SlotFlag.valid],
      [0xf0, SlotFlag.active | SlotFlag.confirmed | SlotFlag.valid],
    ]);
  });
});

describe('ERROR replies', () => {
  it('cut long texts to 256 UTF-8 bytes at a character boundary, so the message always encodes', () => {
    const m = errorReply('update_begin', 'hardware_mismatch', `image is for ${'é'.repeat(200)}`);
    const text = m.type === 'error' ? (m.body.message ?? '') : '';
    expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(256);
    expect(text.endsWith('é…')).toBe(true);
    expect(m.body).toMatchObject({ code: ErrorCode.hardware_mismatch, requestType: 0x10 });
  });
});
