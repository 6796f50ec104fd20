import { buildSack, type Message, UpdateState } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { type TransferOutput, UpdateTransfer } from '../src/update/transfer.js';
import { transferImage } from './transfer-image.js';

const SIZE = 8 * 1024;
const { image, manifest } = transferImage(SIZE, 7);

function transfer(overrides: Partial<ConstructorParameters<typeof UpdateTransfer>[1]> = {}) {
  return new UpdateTransfer(
    { image, envelope: new Uint8Array([1]), manifest },
    { session: 9, mtu: 4096, chunkSize: 1024, ...overrides },
  );
}

const status = (body: Partial<Extract<Message, { type: 'update_status' }>['body']>): Message => ({
  type: 'update_status',
  body: { session: 9, state: UpdateState.receiving, ...body },
});
const offsets = (o: TransferOutput) => o.chunks.map((m) => (m.body as { offset: number }).offset);
const ack = (cumulative: number, storedBeyond: number[] = []) =>
  ({
    type: 'ack',
    body: {
      session: 9,
      cumulative,
      ...(storedBeyond.length ? { sack: buildSack(cumulative / 1024, storedBeyond) } : {}),
    },
  }) as const;

/** Through probe and begin: the device holds `received` bytes and takes 4 chunks ahead. */
function opened(t: UpdateTransfer, received = 0): TransferOutput {
  t.handle({ type: 'start' }, 0);
  t.handle(
    {
      type: 'answer',
      request: 'status',
      message: status({ state: UpdateState.idle, maxChunk: 1024, window: 4 }),
    },
    1000,
  );
  return t.handle({ type: 'answer', request: 'begin', message: status({ received }) }, 2000);
}

describe('UpdateTransfer', () => {
  it('fills the window, and slides it on every cumulative ack', () => {
    const t = transfer();
    expect(offsets(opened(t))).toEqual([0, 1024, 2048, 3072]);
    expect(offsets(t.handle(ack(2048), 10_000))).toEqual([4096, 5120]);
    expect(t.progress()).toMatchObject({
      phase: 'transfer',
      acked: 2048,
      sentBytes: 6 * 1024,
      retransmittedBytes: 0,
    });
  });

  it('shrinks the window to what the path needs: a round trip and the flash time at the ack rate, plus two', () => {
    const t = transfer();
    t.handle({ type: 'start' }, 0);
    t.handle(
      {
        type: 'answer',
        request: 'status',
        message: status({ state: UpdateState.idle, window: 8, flashWriteUs: 0 }),
      },
      1,
    );
    expect(
      offsets(t.handle({ type: 'answer', request: 'begin', message: status({ received: 0 }) }, 2000)),
    ).toHaveLength(8);
    // 1 KiB acknowledged every 10 ms, 10 ms after it was sent: one chunk covers the round trip, two
    // more the host's 20 ms of scheduling jitter, plus two of headroom.
    t.handle(ack(1024), 12_000);
    t.handle(ack(2048), 22_000);
    expect(t.progress().window).toBe(5);
  });

  it('resumes where the device says it stands', () => {
    const t = transfer();
    const out = opened(t, 5 * 1024);
    expect(out.events).toContainEqual({ kind: 'resumed', fromBytes: 5 * 1024 });
    expect(offsets(out)).toEqual([5120, 6144, 7168]);
  });

  it('resends a hole once a later chunk arrived, and nothing still in flight', () => {
    const t = transfer();
    opened(t);
    // Chunk 0 lost; 1 arrived: 0 goes again, 2 and 3 may still be on the wire.
    const out = t.handle(ack(0, [1]), 10_000);
    expect(offsets(out)).toEqual([0]);
    expect(out.events).toContainEqual({ kind: 'retransmit', chunks: 1, why: 'gap' });
    // The same picture again (a repeated ack) does not resend it a second time.
    expect(offsets(t.handle(ack(0, [1]), 11_000))).toEqual([]);
    expect(offsets(t.handle(ack(4096), 20_000))).toEqual([4096, 5120, 6144, 7168]);
    expect(t.progress().retransmittedBytes).toBe(1024);
  });

  it('on silence resends the oldest chunk, then reopens the session, then gives up (resumable)', () => {
    const t = transfer({ reopenAfter: 2, giveUpAfter: 5 });
    const first = opened(t);
    let now = 2000;
    let out = first;
    const seen: string[] = [];
    for (let i = 0; i < 6 && !t.finished; i++) {
      now = out.wakeAt ?? now + 1;
      out = t.handle({ type: 'tick' }, now);
      if (out.requests[0]?.kind === 'begin') {
        seen.push('begin');
        // The device answers BEGIN (it is there), but no chunk ever gets through.
        out = t.handle({ type: 'answer', request: 'begin', message: status({ received: 0 }) }, now + 1);
      } else seen.push(`chunk ${offsets(out).join(',')}`);
    }
    // Timeouts 1, 3, 5 resend the oldest chunk, 2 and 4 reopen, the 6th ends it.
    expect(seen).toEqual(['chunk 0', 'begin', 'chunk 0', 'begin', 'chunk 0', 'chunk ']);
    expect(t.progress()).toMatchObject({ phase: 'failed' });
    expect(t.progress().detail).toMatch(/resumable/);
  });

  it('verifies, activates, watches the new image and confirms it', () => {
    const t = transfer({ trialUs: 1_000_000 });
    opened(t);
    const out = t.handle(ack(SIZE), 50_000);
    expect(out.requests.map((r) => r.kind)).toEqual(['verify']);
    const act = t.handle(
      { type: 'answer', request: 'verify', message: status({ state: UpdateState.verified }) },
      60_000,
    );
    expect(act.requests.map((r) => r.kind)).toEqual(['activate']);
    const wait = t.handle({ type: 'answer', request: 'activate', message: { type: 'ok', body: {} } }, 70_000);
    expect(t.phase).toBe('boot_wait');
    expect(wait.requests).toEqual([]); // the device resets by itself; no RESET unless it stays silent
    const hello = { firmwareVersion: [2, 0, 0], bootloaderVersion: [1, 0, 0] } as Extract<
      Message,
      { type: 'hello' }
    >['body'];
    t.handle({ type: 'hello', body: hello }, 100_000);
    expect(t.phase).toBe('trial');
    const confirm = t.handle({ type: 'tick' }, 1_100_000);
    expect(confirm.requests.map((r) => r.kind)).toEqual(['confirm']);
    t.handle({ type: 'answer', request: 'confirm', message: { type: 'ok', body: {} } }, 1_200_000);
    expect(t.progress()).toMatchObject({ phase: 'done', transferEndedUs: 50_000 });
  });

  it('sends RESET only to a device that stays silent after ACTIVATE, and reports a rollback', () => {
    const t = transfer();
    opened(t);
    t.handle(ack(SIZE), 50_000);
    t.handle({ type: 'answer', request: 'verify', message: status({ state: UpdateState.verified }) }, 60_000);
    const wait = t.handle({ type: 'answer', request: 'activate', message: { type: 'ok', body: {} } }, 70_000);
    const reset = t.handle({ type: 'tick' }, wait.wakeAt!);
    expect(reset.requests.map((r) => r.kind)).toEqual(['reset']);
    const old = { firmwareVersion: [1, 0, 0], bootloaderVersion: [1, 0, 0] } as Extract<
      Message,
      { type: 'hello' }
    >['body'];
    t.handle({ type: 'hello', body: old }, 4_000_000);
    expect(t.progress()).toMatchObject({ phase: 'rolled_back' });
    expect(t.progress().detail).toMatch(/runs 1\.0\.0, not 2\.0\.0/);
  });

  it("takes the device's refusal as the end, with its reason; a busy device is asked again", () => {
    const t = transfer();
    t.handle({ type: 'start' }, 0);
    t.handle({ type: 'answer', request: 'status', message: status({ state: UpdateState.idle }) }, 1000);
    const busy = t.handle(
      { type: 'answer', request: 'begin', message: { type: 'error', body: { code: 4 } } },
      2000,
    );
    expect(t.phase).toBe('begin');
    expect(t.handle({ type: 'tick' }, busy.wakeAt!).requests.map((r) => r.kind)).toEqual(['begin']);
    t.handle(
      {
        type: 'answer',
        request: 'begin',
        message: { type: 'error', body: { code: 14, message: 'image is for x' } },
      },
      300_000,
    );
    expect(t.progress().phase).toBe('failed');
    expect(t.progress().detail).toMatch(/begin refused: .*image is for x/);
  });

  it('ignores a late no-answer to a request it has moved past, and fails a refused CONFIRM', () => {
    const t = transfer({ trialUs: 1_000_000 });
    opened(t);
    t.handle(ack(SIZE), 50_000);
    t.handle({ type: 'answer', request: 'verify', message: status({ state: UpdateState.verified }) }, 60_000);
    const wait = t.handle({ type: 'answer', request: 'activate', message: { type: 'ok', body: {} } }, 70_000);
    t.handle({ type: 'tick' }, wait.wakeAt!); // silent: RESET goes out
    const hello = { firmwareVersion: [2, 0, 0], bootloaderVersion: [1, 0, 0] } as Extract<
      Message,
      { type: 'hello' }
    >['body'];
    t.handle({ type: 'hello', body: hello }, 3_200_000);
    expect(t.phase).toBe('trial');
    // The RESET's retries ran out after the new image had come up: nothing to act on.
    t.handle({ type: 'no_answer', request: 'reset', reason: 'timeout' }, 3_300_000);
    expect(t.phase).toBe('trial');
    t.handle({ type: 'tick' }, 4_200_000);
    expect(t.phase).toBe('confirm');
    const busy = t.handle(
      { type: 'answer', request: 'confirm', message: { type: 'error', body: { code: 4 } } },
      4_300_000,
    );
    expect(t.handle({ type: 'tick' }, busy.wakeAt!).requests.map((r) => r.kind)).toEqual(['confirm']);
    t.handle(
      { type: 'answer', request: 'confirm', message: { type: 'error', body: { code: 5, message: 'no' } } },
      4_600_000,
    );
    expect(t.progress()).toMatchObject({ phase: 'failed' });
    expect(t.progress().detail).toMatch(/confirm refused/);
  });

  it('confirms the slot the test image booted from; a device that reverted meanwhile is rolled back', () => {
    // Soak seed 2: a power cut tore CONFIRM's boot-state write, the bootloader reverted, the HELLO was
    // lost, and CONFIRM's retry was answered "already confirmed" by the old image: reported done.
    const t = transfer({ trialUs: 1_000_000 });
    opened(t);
    t.handle(ack(SIZE), 50_000);
    t.handle({ type: 'answer', request: 'verify', message: status({ state: UpdateState.verified }) }, 60_000);
    t.handle({ type: 'answer', request: 'activate', message: { type: 'ok', body: {} } }, 70_000);
    const hello = {
      firmwareVersion: [2, 0, 0],
      bootloaderVersion: [1, 0, 0],
      slots: [
        { index: 0, version: [1, 0, 0], flags: 2 | 8 },
        { index: 1, version: [2, 0, 0], flags: 1 | 4 | 8 },
      ],
    } as unknown as Extract<Message, { type: 'hello' }>['body'];
    t.handle({ type: 'hello', body: hello }, 100_000);
    const confirm = t.handle({ type: 'tick' }, 1_100_000);
    expect(confirm.requests.map((r) => r.message)).toEqual([{ type: 'update_confirm', body: { slot: 1 } }]);
    t.handle(
      { type: 'answer', request: 'confirm', message: { type: 'error', body: { code: 9, detail: 0 } } },
      1_200_000,
    );
    expect(t.progress().phase).toBe('rolled_back');
  });

  it('asks for the status again when its answer is lost, with chunks that fit the route from the start', () => {
    const t = new UpdateTransfer(
      { image, envelope: new Uint8Array([1]), manifest },
      { session: 9, mtu: 251 },
    );
    expect(t.progress().chunkSize).toBe(224);
    t.handle({ type: 'start' }, 0);
    const retry = t.handle({ type: 'no_answer', request: 'status', reason: 'timeout' }, 1000);
    expect(t.handle({ type: 'tick' }, retry.wakeAt!).requests.map((r) => r.message.type)).toEqual([
      'update_status_req',
    ]);
  });

  it('begins again when the device reboots while checking the image, and pauses on a zero window', () => {
    const t = transfer();
    opened(t);
    expect(
      offsets(t.handle({ type: 'ack', body: { session: 9, cumulative: 1024, window: 0 } }, 10_000)),
    ).toEqual([]);
    expect(
      offsets(t.handle({ type: 'ack', body: { session: 9, cumulative: 2048, window: 4 } }, 20_000)).length,
    ).toBeGreaterThan(0);
    t.handle(ack(SIZE), 50_000);
    expect(t.phase).toBe('verify');
    const hello = { firmwareVersion: [1, 0, 0], bootloaderVersion: [1, 0, 0] } as Extract<
      Message,
      { type: 'hello' }
    >['body'];
    const again = t.handle({ type: 'hello', body: hello }, 60_000);
    expect(again.requests.map((r) => r.kind)).toEqual(['begin']);
  });

  it('fits chunks to the route: a Modbus tunnel carries 224-byte chunks', () => {
    const t = new UpdateTransfer(
      { image, envelope: new Uint8Array([1]), manifest },
      { session: 9, mtu: 251 },
    );
    t.handle({ type: 'start' }, 0);
    const out = t.handle(
      { type: 'answer', request: 'status', message: status({ state: UpdateState.idle, maxChunk: 1024 }) },
      1,
    );
    expect((out.requests[0]!.message.body as { chunkSize: number }).chunkSize).toBe(224);
  });
});
