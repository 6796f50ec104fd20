import { buildSack, type Message, UpdateState } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { type TransferEvent, type TransferOutput, UpdateTransfer } from '../src/update/transfer.js';
import { transferImage } from './transfer-image.js';

/**
 * Chunks that are mostly lost get smaller (the soak: 1 KiB chunks are 147 classic CAN frames through
 * ISO-TP, and 1 % of frames dropped lost three in four), and grow back once the path is clean.
 */
const SIZE = 96 * 1024;
const { image, manifest } = transferImage(SIZE, 31);

const status = (session: number, received: number): Message => ({
  type: 'update_status',
  body: { session, state: UpdateState.receiving, received },
});

/**
 * A device behind a path that delivers a chunk only if `delivers(bytes)` says so (called once per
 * chunk sent), answering every chunk that arrives with its cumulative ack and sack. Runs the transfer
 * until it verifies or `untilUs`; returns the chunk-size changes and the sessions BEGIN opened.
 */
function run(delivers: (bytes: number, nth: number) => boolean, untilUs = 600e6) {
  const t = new UpdateTransfer(
    { image, envelope: new Uint8Array([1]), manifest },
    { session: 9, mtu: 4096, stallUs: 3600e6 },
  );
  const changes: { from: number; to: number }[] = [];
  const sessions: number[] = [];
  let stored = new Set<number>(); // byte offsets of the current session's chunks
  let chunk = 1024;
  let session = 9;
  let now = 0;
  let nth = 0;
  const cumulative = () => {
    let c = 0;
    while (stored.has(c)) c += chunk;
    return Math.min(c, SIZE);
  };
  const queue: TransferOutput[] = [t.handle({ type: 'start' }, 0)];
  while (queue.length > 0 && now < untilUs && t.phase !== 'verify') {
    const o = queue.shift()!;
    for (const e of o.events as TransferEvent[])
      if (e.kind === 'chunk_size') changes.push({ from: e.from, to: e.to });
    for (const r of o.requests) {
      now += 1000;
      if (r.kind === 'status')
        queue.push(
          t.handle(
            {
              type: 'answer',
              request: 'status',
              message: { type: 'update_status', body: { session: 0, state: UpdateState.idle, window: 8 } },
            },
            now,
          ),
        );
      if (r.kind === 'begin' && r.message.type === 'update_begin') {
        const b = r.message.body;
        sessions.push(b.session);
        if (b.chunkSize !== chunk || b.session !== session) {
          // A new session resumes at what was stored contiguously (4 KiB sectors, as a device would).
          const kept = Math.floor(cumulative() / 4096) * 4096;
          chunk = b.chunkSize;
          session = b.session;
          stored = new Set();
          for (let at = 0; at < kept; at += chunk) stored.add(at);
        }
        queue.push(
          t.handle({ type: 'answer', request: 'begin', message: status(session, cumulative()) }, now),
        );
      }
    }
    for (const m of o.chunks) {
      now += 100;
      if (m.type !== 'update_chunk' || m.body.session !== session) continue;
      if (!delivers(m.body.data.length, nth++)) continue;
      stored.add(m.body.offset);
      const cum = cumulative();
      const beyond = [...stored].filter((at) => at > cum).map((at) => at / chunk);
      queue.push(
        t.handle(
          {
            type: 'ack',
            body: {
              session,
              cumulative: cum,
              ...(beyond.length ? { sack: buildSack(cum / chunk, beyond) } : {}),
            },
          },
          now,
        ),
      );
    }
    if (queue.length === 0 && o.wakeAt !== undefined) {
      now = Math.max(now, o.wakeAt);
      queue.push(t.handle({ type: 'tick' }, now));
    }
  }
  return { t, changes, sessions };
}

describe('chunk size adapted to the loss', () => {
  it('halves the chunk on a path that loses most 1 KiB chunks, under a new session, and finishes', () => {
    // Each 128-byte piece of a chunk is lost one time in four: a 1 KiB chunk arrives 10 % of the time,
    // a 512-byte one 32 %, a 256-byte one 56 %.
    let seed = 1;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const r = run((bytes) => {
      for (let i = 0; i < bytes / 128; i++) if (rnd() < 1 / 4) return false;
      return true;
    });
    expect(r.t.progress()).toMatchObject({ phase: 'verify', detail: '' });
    expect(r.changes.slice(0, 2)).toEqual([
      { from: 1024, to: 512 },
      { from: 512, to: 256 },
    ]);
    // Each change opened a session of its own.
    expect(new Set(r.sessions).size).toBe(1 + r.changes.length);
  });

  it('grows back to the limit once 64 chunks in a row arrive first time', () => {
    // Of the first 60 chunks sent two in three are lost, then the path is clean.
    const r = run((_bytes, nth) => nth >= 60 || nth % 3 === 0);
    expect(r.t.phase).toBe('verify');
    expect(r.changes[0]).toEqual({ from: 1024, to: 512 });
    expect(r.changes.at(-1)).toEqual({ from: 512, to: 1024 });
  });

  it('keeps 1 KiB chunks on a clean path', () => {
    const r = run(() => true);
    expect(r.t.phase).toBe('verify');
    expect(r.changes).toEqual([]);
    expect(r.sessions).toEqual([9]);
  });
});
