import { ErrorCode, type Message, UpdateState } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { type TransferEvent, type TransferOutput, UpdateTransfer } from '../src/update/transfer.js';
import { transferImage } from './transfer-image.js';

/**
 * The slow retrieval / freeze bound of an update (TransferConfig stallUs, minProgressBytes): a device
 * that acknowledges a chunk just before every retransmission timeout keeps the timeout count at zero,
 * so only a progress bound ends such an update.
 */
const SIZE = 256 * 1024;
const { image, manifest } = transferImage(SIZE, 13);
const S = 1_000_000;

function transfer(): UpdateTransfer {
  return new UpdateTransfer(
    { image, envelope: new Uint8Array([1]), manifest },
    { session: 9, mtu: 4096, chunkSize: 1024, stallUs: 120 * S, minProgressBytes: 32 * 1024 },
  );
}

const status = (body: Partial<Extract<Message, { type: 'update_status' }>['body']>): Message => ({
  type: 'update_status',
  body: { session: 9, state: UpdateState.receiving, ...body },
});
const ack = (cumulative: number) => ({ type: 'ack', body: { session: 9, cumulative } }) as const;

/**
 * Drives the transfer to `untilUs`, waking it whenever it asks and feeding the device's behaviour:
 * `ackEveryUs` apart (the first after half of it) the device acknowledges `bytesPerAck` more. Its BEGINs (the first, and again
 * after timeouts) are answered at once with the device's true cumulative count. Returns the failure event, if any.
 */
function drive(t: UpdateTransfer, ackEveryUs: number, bytesPerAck: number, untilUs: number) {
  const events: TransferEvent[] = [];
  let acked = 0;
  const take = (o: TransferOutput, now: number) => {
    events.push(...o.events);
    for (const r of o.requests)
      if (r.kind === 'begin')
        take(t.handle({ type: 'answer', request: 'begin', message: status({ received: acked }) }, now), now);
    return o.wakeAt;
  };
  let wake = take(t.handle({ type: 'start' }, 0), 0);
  wake = take(
    t.handle(
      {
        type: 'answer',
        request: 'status',
        message: status({ state: UpdateState.idle, maxChunk: 1024, window: 4 }),
      },
      1000,
    ),
    1000,
  );
  // Half a period in: no ack falls on the instant the bound is checked.
  let nextAck = 1000 + ackEveryUs / 2;
  while (!t.finished) {
    const at = Math.min(wake ?? Number.POSITIVE_INFINITY, nextAck);
    if (at > untilUs) break;
    if (at === nextAck) {
      acked = Math.min(SIZE, acked + bytesPerAck);
      wake = take(t.handle(ack(acked), at), at);
      nextAck += ackEveryUs;
    } else wake = take(t.handle({ type: 'tick' }, at), at);
  }
  return events.find((e) => e.kind === 'phase' && e.phase === 'failed');
}

describe('the slow retrieval / freeze bound of an update', () => {
  it('fails a transfer whose device acknowledges one chunk every 5 s (never 20 timeouts in a row)', () => {
    const t = transfer();
    const failed = drive(t, 5 * S, 1024, 600 * S);
    expect(failed).toMatchObject({ kind: 'phase', phase: 'failed', reason: 'stalled' });
    expect((failed as { detail: string }).detail).toMatch(
      /^stalled \(slow retrieval or freeze\): 24576 bytes acknowledged and still in transfer after 120 s, the bound is 32768 bytes/,
    );
    // 24 chunks in the window that began when the transfer opened (BEGIN answered at 1 ms): failed
    // at its end, not later.
    expect(t.progress().finishedUs).toBe(1000 + 120 * S);
    expect(t.progress().acked).toBe(24 * 1024);
  });

  it('lets a slow but steady transfer finish its bytes: each window that makes the bound starts the next', () => {
    const t = transfer();
    // 2 KiB every 5 s = 48 KiB per 120 s: above the bound, for all 128 s the 256 KiB take.
    expect(drive(t, 5 * S, 2048, 700 * S)).toBeUndefined();
    expect(t.progress()).toMatchObject({ phase: 'verify', acked: SIZE });
  });

  it('fails a device that answers the probe but never opens the session, in probe or begin', () => {
    const t = transfer();
    t.handle({ type: 'start' }, 0);
    // STATUS answered; BEGIN answered "busy" for ever (each answer asks again 200 ms later).
    let o = t.handle(
      { type: 'answer', request: 'status', message: status({ state: UpdateState.idle, window: 4 }) },
      1000,
    );
    let failed: TransferEvent | undefined;
    for (let now = 1000; !t.finished && now < 200 * S; ) {
      if (o.requests.some((r) => r.kind === 'begin'))
        o = t.handle(
          {
            type: 'answer',
            request: 'begin',
            message: { type: 'error', body: { code: ErrorCode.busy, message: 'busy' } },
          },
          now,
        );
      else {
        now = o.wakeAt ?? now + S;
        o = t.handle({ type: 'tick' }, now);
      }
      failed ??= o.events.find((e) => e.kind === 'phase' && e.phase === 'failed');
    }
    // 50 busy answers 200 ms apart end it first (10 s), as the device's refusal; never later than the bound.
    expect(failed).toMatchObject({ phase: 'failed', reason: 'device:busy' });
    expect(t.progress().finishedUs).toBeLessThanOrEqual(1000 + 120 * S);
  });

  it("names the device's refusal in the failure's reason", () => {
    const t = transfer();
    t.handle({ type: 'start' }, 0);
    t.handle({ type: 'answer', request: 'status', message: status({ state: UpdateState.idle }) }, 1);
    const o = t.handle(
      {
        type: 'answer',
        request: 'begin',
        message: {
          type: 'error',
          body: { code: ErrorCode.downgrade_rejected, message: 'security counter below 5' },
        },
      },
      2,
    );
    const failed = o.events.find((e) => e.kind === 'phase' && e.phase === 'failed');
    expect(failed).toMatchObject({ reason: 'device:downgrade_rejected' });
  });
});
