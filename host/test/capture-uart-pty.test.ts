import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeStreamFrame } from '@mcubus/protocol';
import type { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaptureRecord } from '../src/transports/capture-tap.js';
import { UartTransport } from '../src/transports/uart/uart-transport.js';
import { closePeer, openPeer, type PtyPair, ptyPair, skipPty, waitFor } from './transport-pty.js';

// The §2 worked example: the host pings 0x21.
const PING = Uint8Array.from([
  0x01, 0x08, 0x21, 0x00, 0x08, 0x04, 0x01, 0x00, 0xa1, 0x01, 0x07, 0xaf, 0xe1, 0xfd, 0xe7,
]);

describe.skipIf(skipPty)('UART capture tap over a socat pty pair', () => {
  let dir: string;
  let pair: PtyPair;
  let peer: SerialPort;
  let uart: UartTransport;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcubus-uartcap-'));
    pair = await ptyPair(join(dir, 'dev'), join(dir, 'peer'));
    peer = await openPeer(pair.b, 115200);
    uart = new UartTransport({ name: 'u0', path: pair.a });
    await uart.start();
  });

  afterEach(async () => {
    await uart.stop();
    await closePeer(peer);
    await pair.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the bytes written and each received piece, undecodable ones marked, on the host clock', async () => {
    const records: CaptureRecord[] = [];
    const frames: Uint8Array[] = [];
    uart.onFrame((f) => frames.push(f));
    const stopCapture = uart.onCapture((r) => records.push(r));
    const before = Number(process.hrtime.bigint() / 1000n);
    // A piece whose code byte runs past its end, then a good frame.
    peer.write(Buffer.from([0x05, 0x11, 0x00, ...encodeStreamFrame(PING)]));
    await waitFor(() => frames.length === 1, 2000, 'the frame from the peer');
    uart.send(PING, 0x21, 2);
    const after = Number(process.hrtime.bigint() / 1000n);
    expect(records.map((r) => (r.link === 'uart' ? [r.direction, [...r.bytes], r.error] : r))).toEqual([
      ['in', [0x05, 0x11, 0x00], 'cobs_overrun'],
      ['in', [...encodeStreamFrame(PING)], undefined],
      // After idle the frame is written behind an extra delimiter (§6): the capture shows it.
      ['out', [0x00, ...encodeStreamFrame(PING)], undefined],
    ]);
    for (const r of records) {
      expect(r.atUs).toBeGreaterThanOrEqual(before - 10_000);
      expect(r.atUs).toBeLessThanOrEqual(after);
    }
    stopCapture();
    uart.send(PING, 0x21, 2);
    expect(records).toHaveLength(3);
  });
});
