import { decodeEnvelope, ErrorCode, encodeCbor, type Message } from '@mcubus/protocol';
import { describe, expect, it, vi } from 'vitest';
import { slotCapacity, slotImageOffset } from '../src/flash/index.js';
import { ms, NS_PER_S, seconds } from '../src/kernel/index.js';
import { DEFAULT_RECEIVER_CONFIG, receiverConfigProblems } from '../src/update/index.js';
import {
  appImage,
  blImage,
  bootedMcu,
  CHUNK,
  errorOf,
  type Img,
  layout,
  rig,
  statusOf,
} from './support/update-rig.js';

type Rig = ReturnType<typeof rig>;

function decodeEnvelopeOrThrow(envelope: Uint8Array): Uint8Array {
  const e = decodeEnvelope(envelope);
  if (!e.ok) throw new Error(e.error.message);
  return e.value.manifest;
}
const texts = (r: Rig) => r.logs.map((l) => l.text);

describe('update receiver: every refusal is a device log line', () => {
  const img = appImage([2, 0, 0]);
  const room = slotCapacity(layout, layout.apps[1]);
  const cases: [string, (r: Rig) => void, string][] = [
    [
      'a foreign signature',
      (r) => r.begin(appImage([2, 0, 0], { key: 'stranger' })),
      'signature_invalid: key id dbc298251c51321b is not among the 1 trusted key(s)',
    ],
    [
      'an envelope without its signature (unsigned)',
      (r) => r.begin(img, 7, { manifest: encodeCbor(new Map([[1, decodeEnvelopeOrThrow(img.envelope)]])) }),
      'signature_invalid: signed_manifest: required field signature (key 2) is missing',
    ],
    [
      'an envelope without manifest bytes',
      (r) => r.begin(img, 7, { manifest: encodeCbor(new Map([[2, new Uint8Array(64)]])) }),
      'bad_request: signed_manifest: required field manifest (key 1) is missing',
    ],
    [
      'another hardware id',
      (r) => r.begin(appImage([2, 0, 0], { hw: 'board-y' })),
      'hardware_mismatch: image is for board-y',
    ],
    [
      'a BEGIN hash that differs from the manifest',
      (r) => r.begin(img, 7, { sha256: new Uint8Array(32) }),
      'hash_mismatch: manifest sha256 differs from UPDATE_BEGIN',
    ],
    [
      'a lower security counter',
      (r) => r.begin(appImage([3, 0, 0], { sc: 0 })),
      'downgrade_rejected: security counter below 1',
    ],
    [
      'a bootloader that is not newer',
      (r) => r.begin(blImage([1, 0, 0], 5)),
      'downgrade_rejected: bootloader 1.0.0 is not newer than the running one',
    ],
    [
      'a BEGIN size that differs from the manifest',
      (r) => r.begin(img, 7, { size: 19_999 }),
      'bad_request: the manifest describes another image',
    ],
    [
      'a chunk size above maxChunk',
      (r) => r.begin(img, 7, { chunkSize: 2048 }),
      'too_large: chunkSize above maxChunk',
    ],
    [
      'an image larger than the slot',
      (r) => r.begin(appImage([2, 0, 0], { size: room + 8 })),
      `no_space: slot holds ${room} bytes`,
    ],
    [
      'a chunk off the grid',
      (r) => {
        r.begin(img);
        r.send({ type: 'update_chunk', body: { session: 7, offset: 100, data: new Uint8Array(CHUNK) } });
      },
      'bad_offset: offset 100 is not a chunk of this image',
    ],
    [
      'VERIFY of a session that is not open',
      (r) => r.request({ type: 'update_verify', body: { session: 8 } }),
      'bad_session: no such session',
    ],
    [
      'VERIFY of an incomplete image',
      (r) => {
        r.begin(img);
        r.request({ type: 'update_verify', body: { session: 7 } });
      },
      'bad_state: 0 of 20000 bytes stored',
    ],
    [
      'a request while the signature check runs',
      (r) => {
        r.send({
          type: 'update_begin',
          body: {
            session: 7,
            kind: 0,
            size: img.image.length,
            sha256: img.manifest.sha256,
            chunkSize: CHUNK,
            manifest: img.envelope,
          },
        });
        r.send({ type: 'update_verify', body: { session: 7 } });
      },
      'busy: update_begin in progress',
    ],
    [
      'a failed chunk write',
      (r) => {
        r.begin(img);
        r.transfer(img, 0, 7, 8192);
        r.sim.runFor(ms(200));
        r.s.flash.failWriteAtOp(r.s.flash.opsStarted + 2);
        r.chunk(img, 8);
        r.sim.runFor(ms(200));
      },
      'flash_error: program op 15 failed (injected)',
    ],
    [
      'a stored image whose hash is wrong (at VERIFY)',
      (r) => {
        r.begin(img);
        const bad = img.image.slice(5 * CHUNK, 6 * CHUNK);
        bad[17]! ^= 1;
        r.transfer(img, 0, 7, 5 * CHUNK);
        r.chunk(img, 5, 7, bad);
        r.sim.runFor(ms(200));
        r.transfer(img, 6 * CHUNK);
        r.request({ type: 'update_verify', body: { session: 7 } });
      },
      'hash_mismatch: stored image refused',
    ],
    [
      'an update request while nothing runs',
      (r) => {
        r.s.receiver.powerOff(); // as between a reset and the end of the boot
        r.send({ type: 'update_verify', body: { session: 7 } });
      },
      'bad_state: not running',
    ],
  ];

  it.each(cases)('%s', (_, provoke, expected) => {
    const r = rig();
    provoke(r);
    r.sim.runFor(ms(200));
    expect(r.logs).toEqual([
      { at: expect.any(Number), level: 2, text: `update refused: ${expected}`, module: 'update' },
    ]);
    expect(r.s.receiver.errorsSent.total()).toBe(1);
  });

  it('logs one line per code per second: 100 bad chunks in 0.5 s are one line, the next says how many were held', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    for (let i = 0; i < 100; i++) {
      r.send({ type: 'update_chunk', body: { session: 7, offset: 100 + i, data: new Uint8Array(CHUNK) } });
      r.sim.runFor(ms(5));
    }
    const first = 'update refused: bad_offset: offset 100 is not a chunk of this image';
    expect(texts(r)).toEqual([first]);
    // Another code within the same second is not held back by bad_offset's limit.
    r.request({ type: 'update_verify', body: { session: 9 } });
    expect(texts(r)).toEqual([first, 'update refused: bad_session: no such session']);
    r.sim.runFor(ms(600)); // 1.1 s after the first line
    r.send({ type: 'update_chunk', body: { session: 7, offset: 7, data: new Uint8Array(CHUNK) } });
    r.send({ type: 'update_chunk', body: { session: 7, offset: 8, data: new Uint8Array(CHUNK) } });
    expect(texts(r).slice(2)).toEqual([
      'update refused: bad_offset: offset 7 is not a chunk of this image (99 more suppressed)',
    ]);
    expect(r.s.receiver.errorsSent.snapshot()).toEqual({ bad_offset: 102, bad_session: 1 });
    expect(r.s.receiver.stats.refusalLogsSuppressed).toBe(100);
    r.sim.runFor(seconds(1));
    r.send({ type: 'update_chunk', body: { session: 7, offset: 9, data: new Uint8Array(CHUNK) } });
    expect(texts(r).at(-1)).toBe(
      'update refused: bad_offset: offset 9 is not a chunk of this image (1 more suppressed)',
    );
  });

  it('an MCU sends the lines to the host as LOG events (level 2, module update)', () => {
    const { storage, mcu } = bootedMcu({ bl: [1, 0, 0], app: [1, 0, 0], slot: 0, sc: 1 });
    expect(mcu.state).toBe('running');
    const sent = vi.spyOn(mcu, 'send');
    storage.handleUpdate(
      { type: 'update_verify', body: { session: 3 } },
      () => {},
      () => {},
    );
    const logs = sent.mock.calls.map((c) => c[1] as Message).filter((m) => m.type === 'log');
    expect(logs.map((m) => m.body)).toEqual([
      {
        deviceTime: expect.any(Number),
        level: 2,
        text: 'update refused: bad_session: no such session',
        module: 'update',
      },
    ]);
  });
});

describe('update receiver: endless data', () => {
  it('never programs flash beyond the image: chunks past the size or longer than the rest are refused and logged', () => {
    const r = rig();
    const img = appImage([2, 0, 0]); // 20 000 bytes: chunks 0..18 of 1024, chunk 19 of 544
    const start = slotImageOffset(layout, layout.apps[1]);
    const end = start + slotCapacity(layout, layout.apps[1]);
    const programs: [number, number][] = [];
    const program = r.s.flash.program.bind(r.s.flash);
    r.s.flash.program = (offset, data, done) => {
      programs.push([offset, data.length]);
      program(offset, data, done);
    };
    r.begin(img);
    const past = (offset: number, length: number) =>
      errorOf(
        r.send({ type: 'update_chunk', body: { session: 7, offset, data: new Uint8Array(length) } })[0],
      );
    // Before the image is in, and after: the same answers.
    expect(past(20 * CHUNK, CHUNK)).toMatchObject({ code: ErrorCode.bad_offset });
    r.transfer(img, 0, 7, 19 * CHUNK);
    expect(past(19 * CHUNK, CHUNK)).toMatchObject({ code: ErrorCode.bad_request, detail: 544 });
    for (let k = 20; k < 200; k++) {
      expect(past(k * CHUNK, CHUNK)).toMatchObject({ code: ErrorCode.bad_offset });
      r.sim.runFor(ms(2));
    }
    expect(past(2 ** 31, CHUNK)).toMatchObject({ code: ErrorCode.bad_offset });
    r.transfer(img, 19 * CHUNK);
    for (let k = 20; k < 40; k++)
      expect(past(k * CHUNK, CHUNK)).toMatchObject({ code: ErrorCode.bad_offset });
    r.sim.runFor(ms(200));
    const imageEnd = start + img.image.length;
    for (const [offset, length] of programs.filter(([o]) => o >= start && o < end)) {
      expect(offset + length).toBeLessThanOrEqual(imageEnd);
    }
    expect(r.s.flash.isErased(imageEnd, end - imageEnd)).toBe(true);
    expect(r.s.flash.read(start, img.image.length)).toEqual(img.image);
    expect(r.s.receiver.stats.chunksStored).toBe(20);
    expect(r.s.receiver.errorsSent.snapshot()).toEqual({ bad_offset: 202, bad_request: 1 });
    expect(texts(r)[0]).toBe('update refused: bad_offset: offset 20480 is not a chunk of this image');
    expect(texts(r)).toContain('update refused: bad_request: chunk at 19456 must have 544 bytes');
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 7 } }))?.state).toBe(3);
  });

  it('refuses a BEGIN whose size is not the manifest size, before touching the flash', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    const ops = r.s.flash.opsStarted;
    for (const size of [19_999, 20_001, 1 << 20]) {
      expect(errorOf(r.begin(img, 7, { size }))?.code).toBe(ErrorCode.bad_request);
    }
    expect(r.s.flash.opsStarted).toBe(ops);
    expect(r.s.receiver.session).toBeNull();
    expect(texts(r)).toEqual(['update refused: bad_request: the manifest describes another image']);
  });
});

describe('update receiver: idle timeout', () => {
  const stalled = (what: 'data' | 'request', s: number) =>
    `update stalled: no ${what} for ${s} s; session dropped (resumable)`;

  /** Begins and stores 10 chunks; the resume point persisted is 8192 (sector-aligned). */
  const partly = (r: Rig, img: Img) => {
    r.begin(img);
    r.transfer(img, 0, 7, 10 * CHUNK);
    r.sim.runFor(ms(200));
    expect(r.s.store.state.progress?.received).toBe(8192);
  };

  it('drops a session without data for 60 s (resumable); its chunks are then dropped, BEGIN resumes', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    partly(r, img);
    const lastStored = r.sim.now - ms(200);
    r.sim.runFor(seconds(59));
    expect(r.s.receiver.session?.state).toBe('receiving');
    r.sim.runFor(seconds(2));
    expect(r.s.receiver.session).toBeNull();
    expect(r.s.receiver.stats.stalledSessions).toBe(1);
    expect(r.logs).toEqual([
      { at: expect.any(Number), level: 2, text: stalled('data', 60), module: 'update' },
    ]);
    expect(r.logs[0]!.at - lastStored).toBeLessThanOrEqual(seconds(60));
    expect(r.logs[0]!.at - lastStored).toBeGreaterThan(seconds(59.9));
    expect(r.chunk(img, 10)).toEqual([]);
    expect(r.s.receiver.drops.get('no_session')).toBe(1);
    expect(r.s.store.state.progress).toMatchObject({ slot: 1, received: 8192 });
    expect(statusOf(r.begin(img, 9))).toMatchObject({ session: 9, state: 1, received: 8192 });
    r.transfer(img, 8192, 9);
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 9 } }))?.state).toBe(3);
    expect(r.s.receiver.stats.stalledSessions).toBe(1);
  });

  it('keeps a session that stores a chunk every 59 s, with one timer however many chunks arrive', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    const pending = r.sim.scheduler.pending;
    for (let i = 0; i < 8; i++) {
      r.chunk(img, i);
      r.sim.runFor(seconds(59));
      expect(r.sim.scheduler.pending).toBeLessThanOrEqual(pending);
    }
    expect(r.s.receiver.session).toMatchObject({ state: 'receiving', cumulative: 8 * CHUNK });
    expect(r.s.receiver.stats.stalledSessions).toBe(0);
    expect(r.logs).toEqual([]);
    r.sim.runFor(seconds(2));
    expect(texts(r)).toEqual([stalled('data', 60)]);
  });

  it('duplicates and refused chunks are no sign of progress', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    partly(r, img);
    for (let t = 0; t < 12; t++) {
      r.chunk(img, 0); // duplicate
      r.send({ type: 'update_chunk', body: { session: 7, offset: 5, data: new Uint8Array(CHUNK) } });
      r.sim.runFor(seconds(5));
    }
    expect(r.s.receiver.session).toBeNull();
    expect(texts(r).at(-1)).toBe(stalled('data', 60));
  });

  it('respects the configured timeout (5 s), and refuses one outside 1 s..1 h', () => {
    const r = rig({ receiver: { idleTimeoutNs: seconds(5) } });
    const img = appImage([2, 0, 0]);
    partly(r, img);
    r.sim.runFor(seconds(4.5));
    expect(r.s.receiver.session).not.toBeNull();
    r.sim.runFor(seconds(0.5));
    expect(r.s.receiver.session).toBeNull();
    expect(texts(r)).toEqual([stalled('data', 5)]);
    expect(DEFAULT_RECEIVER_CONFIG.idleTimeoutNs).toBe(60 * NS_PER_S);
    const config = (idleTimeoutNs: number) => ({ ...DEFAULT_RECEIVER_CONFIG, idleTimeoutNs });
    expect(receiverConfigProblems(config(seconds(1)), 8)).toEqual([]);
    expect(receiverConfigProblems(config(seconds(3600)), 8)).toEqual([]);
    for (const bad of [seconds(0.5), seconds(3601), Number.NaN]) {
      expect(receiverConfigProblems(config(bad), 8)).toEqual([`idleTimeoutNs ${bad} must be 1 s..1 h`]);
    }
    expect(() => rig({ receiver: { idleTimeoutNs: 0 } })).toThrow(/idleTimeoutNs 0 must be 1 s..1 h/);
  });

  it('a received or verified session waiting for the host is dropped after 60 s without a request', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    r.begin(img);
    r.transfer(img);
    r.sim.runFor(seconds(40));
    // Any update request is a sign of life once every byte is in.
    expect(statusOf(r.request({ type: 'update_status_req', body: {} }))?.state).toBe(2);
    r.sim.runFor(seconds(40));
    expect(r.s.receiver.session?.state).toBe('received');
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 7 } }))?.state).toBe(3);
    r.sim.runFor(seconds(59));
    expect(r.s.receiver.session?.state).toBe('verified');
    r.sim.runFor(seconds(2));
    expect(r.s.receiver.session).toBeNull();
    expect(texts(r)).toEqual([stalled('request', 60)]);
    expect(errorOf(r.request({ type: 'update_activate', body: { session: 7 } }))?.code).toBe(
      ErrorCode.bad_session,
    );
    // Resumable: BEGIN again finds every byte stored (the persisted point) and VERIFY passes.
    const resumed = statusOf(r.begin(img, 8));
    expect(resumed?.received).toBeGreaterThan(0);
    r.transfer(img, resumed?.received ?? 0, 8);
    expect(statusOf(r.request({ type: 'update_verify', body: { session: 8 } }))?.state).toBe(3);
    expect(r.request({ type: 'update_activate', body: { session: 8 } })).toEqual({ type: 'ok', body: {} });
    expect(r.s.receiver.stats.stalledSessions).toBe(1);
  });

  it('a reset or a host reconnect still resumes as before, and the new session gets its own timeout', () => {
    const r = rig();
    const img = appImage([2, 0, 0]);
    partly(r, img);
    r.sim.runFor(seconds(50));
    r.boot(); // power loss: RAM (and the pending timer) gone
    r.sim.runFor(seconds(30));
    expect(r.logs).toEqual([]);
    expect(statusOf(r.begin(img, 9))).toMatchObject({ received: 8192 });
    r.transfer(img, 8192, 9, 12 * CHUNK);
    r.sim.runFor(seconds(50));
    // The host reconnects and reopens under a new id: RAM is kept and the clock restarts.
    expect(statusOf(r.begin(img, 10))).toMatchObject({ session: 10, received: 12 * CHUNK });
    r.sim.runFor(seconds(50));
    expect(r.s.receiver.session?.id).toBe(10);
    r.sim.runFor(seconds(11));
    expect(r.s.receiver.session).toBeNull();
    expect(r.s.receiver.stats.stalledSessions).toBe(1);
    expect(statusOf(r.begin(img, 11))).toMatchObject({ received: 12 * CHUNK });
  });
});
