import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CanTransport } from '../src/transports/can/can-transport.js';
import { SocketcanMedia } from '../src/transports/can/socketcan-media.js';
import { TransportError, type TransportEvent } from '../src/transports/transport.js';
import { closePeer, openPeer, type PtyPair, ptyPair, skipPty, waitFor } from './transport-pty.js';

const hex = (bytes: Iterable<number>) =>
  [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');

describe.skipIf(skipPty)('CanTransport over slcan (fake CANable on a socat pty)', () => {
  let dir: string;
  let pair: PtyPair;
  let peer: SerialPort;
  let can: CanTransport;
  let lines: string[];
  const events: TransportEvent[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcubus-slcan-'));
    pair = await ptyPair(join(dir, 'canable'), join(dir, 'peer'));
    peer = await openPeer(pair.b, 115200);
    lines = [];
    let partial = '';
    peer.on('data', (d: Buffer) => {
      partial += d.toString('latin1');
      let cr = partial.indexOf('\r');
      while (cr >= 0) {
        const line = partial.slice(0, cr);
        partial = partial.slice(cr + 1);
        lines.push(line);
        // A CANable: CR to the setup commands, nothing echoed for frames.
        if (/^S\d$/.test(line) || line === 'O' || line === 'C') peer.write('\r');
        cr = partial.indexOf('\r');
      }
    });
    events.length = 0;
    can = new CanTransport({ name: 'c0', media: { kind: 'slcan', path: pair.a, bitrate: 500_000 } });
    can.onEvent((e) => events.push(e));
    await can.start();
  });

  afterEach(async () => {
    await can.stop();
    await closePeer(peer);
    await pair.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets the bit rate and opens the channel', () => {
    expect(lines.slice(0, 2)).toEqual(['S6', 'O']);
    expect(events.some((e) => e.kind === 'open')).toBe(true);
  });

  it('receives a multi-frame ISO-TP message from the peer whole, with flow control', async () => {
    const got: { frame: Uint8Array; from?: number }[] = [];
    can.onFrame((frame, info) => got.push(info.from === undefined ? { frame } : { frame, from: info.from }));
    const message = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
    // FF from device 0x21 to the host, normal priority: 0x18DA0021.
    peer.write(`T18DA00218${hex([0x10, 20, ...message.subarray(0, 6)])}\r`);
    await waitFor(() => lines.some((l) => l.startsWith('T18DA2100')), 2000, 'our flow control');
    const fc = lines.find((l) => l.startsWith('T18DA2100'))!;
    expect(fc.slice(10, 12)).toBe('30'); // CTS
    peer.write(`T18DA00218${hex([0x21, ...message.subarray(6, 13)])}\r`);
    peer.write(`T18DA00218${hex([0x22, ...message.subarray(13, 20)])}\r`);
    await waitFor(() => got.length === 1, 2000, 'the reassembled message');
    expect([...got[0]!.frame]).toEqual([...message]);
    expect(got[0]!.from).toBe(0x21);
    expect(events.filter((e) => e.kind === 'bad_input' || e.kind === 'error')).toEqual([]);
  });

  it('sends a single-frame message and reports garbage lines as bad input', async () => {
    can.send(Uint8Array.from([1, 2, 3]), 0x21, 2);
    await waitFor(() => lines.some((l) => l.startsWith('T18DA2100')), 2000, 'our single frame');
    expect(lines.find((l) => l.startsWith('T18DA2100'))).toBe('T18DA2100803010203CCCCCCCC');
    peer.write('Tzz\r');
    await waitFor(() => events.some((e) => e.kind === 'bad_input'), 2000, 'bad input');
    expect(events.find((e) => e.kind === 'bad_input')).toMatchObject({ code: 'slcan_bad_hex' });
  });
});

describe('SocketcanMedia', () => {
  it('fails with a clear unsupported error when there is no CAN interface', async () => {
    const media = new SocketcanMedia({ iface: 'mcubus-no-such-can9' });
    const err = await media.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ code: 'unsupported' });
    expect((err as Error).message).toContain('SocketCAN needs the socketcan package and a CAN interface');
  });
});
