import { existsSync } from 'node:fs';
import { CanTransport, SocketcanMedia } from '@mcubus/host';
import { encodeFrame } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';

/**
 * SocketCAN needs a kernel with CAN support and a vcan0 interface (modprobe vcan; ip link add dev vcan0
 * type vcan; ip link set up vcan0). CI cannot install a kernel module, so on a machine without it this
 * test is skipped with that reason, even with MCUBUS_REQUIRE_ALL=1.
 */
const vcan = existsSync('/sys/class/net/vcan0');
if (!vcan)
  console.warn(
    'skipped: no vcan0 on this machine (this kernel has no CAN support; see test/e2e/socketcan.test.ts)',
  );

describe.skipIf(!vcan)('SocketCAN on vcan0', () => {
  it('carries an mcubus frame between two ISO-TP endpoints over vcan0', async () => {
    const a = new CanTransport({
      name: 'a',
      media: { kind: 'socketcan', iface: 'vcan0' },
      isotp: { address: 0 },
    });
    const b = new CanTransport({
      name: 'b',
      media: { kind: 'socketcan', iface: 'vcan0' },
      isotp: { address: 0x21 },
    });
    await a.start();
    await b.start();
    const got = new Promise<Uint8Array>((resolve) => b.onFrame((f) => resolve(f)));
    const frame = encodeFrame({ dst: 0x21, src: 0, seq: 1 }, { type: 'identify', body: {} });
    a.send(frame, 0x21, 2);
    expect(await got).toEqual(frame);
    await a.stop();
    await b.stop();
  });
});

describe('SocketCAN without a CAN interface', () => {
  it('refuses with a message that says what is missing', async () => {
    const media = new SocketcanMedia({ iface: 'mcubus-no-such-can' });
    await expect(media.start()).rejects.toThrow(/SocketCAN needs .*CAN interface/);
  });
});
