import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modbus } from '@mcubus/protocol';
import type { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModbusTransport } from '../src/transports/modbus/modbus-transport.js';
import type { TransportEvent } from '../src/transports/transport.js';
import { closePeer, openPeer, type PtyPair, ptyPair, skipPty, waitFor } from './transport-pty.js';

const PING = Uint8Array.from([
  0x01, 0x08, 0x21, 0x00, 0x08, 0x04, 0x01, 0x00, 0xa1, 0x01, 0x07, 0xaf, 0xe1, 0xfd, 0xe7,
]);
const PONG = Uint8Array.from([
  0x01, 0x09, 0x00, 0x21, 0x08, 0x05, 0x01, 0x00, 0xa1, 0x01, 0x07, 0x5b, 0x18, 0x8e, 0x99,
]);

describe.skipIf(skipPty)('ModbusTransport over a socat pty pair (fake slave 0x21)', () => {
  let dir: string;
  let pair: PtyPair;
  let peer: SerialPort;
  let bus: ModbusTransport;
  const events: TransportEvent[] = [];
  /** What the fake slave received: tunnel frames (null = empty poll) and register reads. */
  let requests: modbus.ModbusRequest[];
  /** Frames the slave will hand out, one per poll. */
  let outbox: Uint8Array[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mcubus-modbus-'));
    pair = await ptyPair(join(dir, 'rs485'), join(dir, 'peer'));
    peer = await openPeer(pair.b, 115200, 'even');
    requests = [];
    outbox = [];
    const timing = modbus.rtuTiming(115200);
    const framer = new modbus.RtuFramer({ role: 'slave', timing });
    peer.on('data', (d: Buffer) => {
      for (const r of framer.push(new Uint8Array(d), Number(process.hrtime.bigint() / 1000n))) {
        if (!r.ok) continue;
        const req = modbus.requestFromAdu(r.value);
        if (!req.ok || req.value.address !== 0x21) continue;
        requests.push(req.value);
        let res: modbus.ModbusResponse;
        if (req.value.kind === 'mcubus') {
          res = { address: 0x21, kind: 'mcubus', function: 0x41, frame: outbox.shift() ?? null };
        } else if (req.value.kind === 'read_registers') {
          const q = req.value.quantity;
          res = {
            address: 0x21,
            kind: 'read_registers',
            function: req.value.function,
            registers: Array.from({ length: q }, (_, i) =>
              req.value.kind === 'read_registers' ? req.value.start + i : 0,
            ),
          } as modbus.ModbusResponse;
        } else continue;
        const adu = modbus.encodeResponse(res);
        if (adu.ok) peer.write(Buffer.from(adu.value));
      }
    });
    events.length = 0;
    bus = new ModbusTransport({
      name: 'm0',
      path: pair.a,
      baudRate: 115200,
      devices: [{ slave: 0x21, address: 0x21 }],
      pollPeriodMs: 20,
      latencyUs: 5000,
    });
    bus.onEvent((e) => events.push(e));
    await bus.start();
  });

  afterEach(async () => {
    await bus.stop();
    await closePeer(peer);
    await pair.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('polls empty, collects a frame from the slave and polls again at once', async () => {
    await waitFor(() => requests.length >= 2, 2000, 'two empty polls');
    const got: { frame: Uint8Array; from?: number }[] = [];
    bus.onFrame((frame, info) => got.push(info.from === undefined ? { frame } : { frame, from: info.from }));
    outbox.push(PONG);
    await waitFor(() => got.length === 1, 2000, 'the frame');
    expect([...got[0]!.frame]).toEqual([...PONG]);
    expect(got[0]!.from).toBe(0x21);
    expect(events.filter((e) => e.kind === 'error' || e.kind === 'bad_input')).toEqual([]);
  });

  it('carries a send in a poll request', async () => {
    bus.send(PING, 0x21, 2);
    await waitFor(
      () => requests.some((r) => r.kind === 'mcubus' && r.frame !== null),
      2000,
      'a poll carrying the frame',
    );
    const carried = requests.find((r) => r.kind === 'mcubus' && r.frame !== null);
    expect(carried?.kind === 'mcubus' && [...(carried.frame ?? [])]).toEqual([...PING]);
    await waitFor(() => bus.counters().tx_delivered === 1, 2000, 'delivered');
  });

  it('reads registers and reports unknown next hops as bad input', async () => {
    const regs = await bus.readRegisters(0x21, 0x03, 100, 3);
    expect(regs).toEqual([100, 101, 102]);
    bus.send(PING, 0x55, 2);
    expect(events.find((e) => e.kind === 'bad_input')).toMatchObject({ code: 'unknown_device' });
  });
});
