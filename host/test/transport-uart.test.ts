import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CobsStreamDecoder, encodeStreamFrame } from '@mcubus/protocol';
import type { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TransportError, type TransportEvent } from '../src/transports/transport.js';
import { UartTransport } from '../src/transports/uart/uart-transport.js';
import { closePeer, openPeer, type PtyPair, ptyPair, skipPty, waitFor } from './transport-pty.js';

const PING = Uint8Array.from([
  0x01, 0x08, 0x21, 0x04, 0x08, 0x04, 0x01, 0x08, 0xa1, 0x01, 0x07, 0xaf, 0xe1, 0xfd, 0xe7,
]);

describe.skipIf(skipPty)('UartTransport over a socat pty pair', () => {
  let dir: string;
  let pair: PtyPair;
  let peer: SerialPort;
  let uart: UartTransport;
  const frames: { frame: Uint8Array; rxUs: number }[] = [];
  const events: TransportEvent[] = [];
  const peerDecoder = () => new CobsStreamDecoder(4096);
  let fromHost: Uint8Array[] = [];
  let rawFromHost: number[] = [];

  const attachPeer = (p: SerialPort) => {
    const dec = peerDecoder();
    p.on('data', (d: Buffer) => {
      rawFromHost.push(...d);
      for (const r of dec.push(new Uint8Array(d))) if (r.ok) fromHost.push(r.value);
    });
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcubus-uart-'));
    pair = await ptyPair(join(dir, 'dev'), join(dir, 'peer'));
    peer = await openPeer(pair.b, 115200);
    attachPeer(peer);
    uart = new UartTransport({ name: 'u0', path: pair.a });
    frames.length = 0;
    events.length = 0;
    fromHost = [];
    rawFromHost = [];
    uart.onFrame((frame, info) => frames.push({ frame, rxUs: info.rxUs }));
    uart.onEvent((e) => events.push(e));
    await uart.start();
  });

  afterEach(async () => {
    await uart.stop();
    await closePeer(peer);
    await pair.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries frames both ways, with a leading delimiter after idle', async () => {
    const before = Number(process.hrtime.bigint() / 1000n);
    peer.write(Buffer.from(encodeStreamFrame(PING)));
    await waitFor(() => frames.length === 1, 2000, 'a frame from the peer');
    expect([...frames[0]!.frame]).toEqual([...PING]);
    expect(frames[0]!.rxUs).toBeGreaterThanOrEqual(before - 10_000);

    // A long frame first: the next one follows while it is still on the wire (~60 ms at 115 200
    // baud), even if this process is preempted between the two calls on a loaded machine.
    const long = Uint8Array.from({ length: 700 }, (_, i) => (i % 250) + 1);
    uart.send(long, 0, 2);
    uart.send(PING, 0, 2); // back to back: no extra delimiter
    await waitFor(() => fromHost.length === 2, 2000, 'two frames at the peer');
    expect([...fromHost[0]!]).toEqual([...long]);
    expect([...fromHost[1]!]).toEqual([...PING]);
    expect(rawFromHost[0]).toBe(0); // idle line: leading 0x00
    expect(rawFromHost.filter((b) => b === 0).length).toBe(3);
    expect(uart.counters().tx_frames).toBe(2);
    expect(uart.counters().rx_frames).toBe(1);
  });

  it('counts garbage as bad input and still delivers the next frame', async () => {
    peer.write(Buffer.from([0x05, 0x11, 0x00])); // code byte points past the end
    peer.write(Buffer.from(encodeStreamFrame(PING)));
    await waitFor(() => frames.length === 1, 2000, 'the frame after the garbage');
    expect([...frames[0]!.frame]).toEqual([...PING]);
    const bad = events.filter((e) => e.kind === 'bad_input');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ kind: 'bad_input', code: 'cobs_overrun' });
    expect(uart.counters().bad_cobs_overrun).toBe(1);
  });

  it('reports a vanished port with backoff and reopens when it comes back', async () => {
    await closePeer(peer);
    await pair.kill();
    await waitFor(() => events.some((e) => e.kind === 'lost'), 20_000, 'lost');
    const lost = events.filter((e) => e.kind === 'lost');
    expect(lost[0]).toMatchObject({ retryInMs: 500 });
    // The retry after 500 ms fails (no port yet), the next one waits twice as long.
    await waitFor(() => events.filter((e) => e.kind === 'lost').length >= 2, 20_000, 'a second lost');
    expect(events.filter((e) => e.kind === 'lost')[1]).toMatchObject({ retryInMs: 1000 });

    const opensBefore = events.filter((e) => e.kind === 'open').length;
    pair = await ptyPair(join(dir, 'dev'), join(dir, 'peer'));
    peer = await openPeer(pair.b, 115200);
    attachPeer(peer);
    await waitFor(() => events.filter((e) => e.kind === 'open').length > opensBefore, 20_000, 'open again');

    uart.send(PING, 0, 2);
    await waitFor(() => fromHost.length === 1, 2000, 'a frame after the reopen');
    peer.write(Buffer.from(encodeStreamFrame(PING)));
    await waitFor(() => frames.length === 1, 2000, 'a frame from the peer after the reopen');
    expect(uart.counters().line_reopen_attempts).toBeGreaterThanOrEqual(2);
  });
});

describe('UartTransport start', () => {
  it('rejects with missing_port when the device does not exist', async () => {
    const uart = new UartTransport({ name: 'u9', path: '/dev/ttyUSB9' });
    const err = await uart.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'missing_port' });
    expect((err as Error).message).toContain('/dev/ttyUSB9 does not exist');
  });

  it('startInBackground never rejects and keeps reporting lost with growing backoff', async () => {
    const uart = new UartTransport({
      name: 'u9',
      path: '/dev/ttyUSB9',
      initialBackoffMs: 20,
      maxBackoffMs: 80,
    });
    const lost: number[] = [];
    uart.onEvent((e) => {
      if (e.kind === 'lost') lost.push(e.retryInMs);
    });
    uart.startInBackground();
    await waitFor(() => lost.length >= 4, 2000, 'four lost events');
    await uart.stop();
    expect(lost.slice(0, 4)).toEqual([20, 40, 80, 80]);
  });
});
