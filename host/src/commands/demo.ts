import { encodeFrame, encodeStreamFrame, FrameStreamDecoder, type Message } from '@mcubus/protocol';
import { describeFrame } from '../frame-format.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * `mcubus demo`: what goes on a UART between the host and a device, with a burst of line noise in the
 * middle, decoded back by the same receive path the daemon uses.
 */
export function demoCommand(): number {
  const exchange: [number, number, Message, boolean][] = [
    [0x00, 0x21, { type: 'identify', body: {} }, false],
    [
      0x21,
      0x00,
      {
        type: 'hello',
        body: {
          uid: new Uint8Array([0x12, 0x34, 0x56, 0x78]),
          hardwareId: 'demo-board',
          hardwareRev: 1,
          firmwareVersion: [1, 2, 0],
          bootloaderVersion: [0, 9, 0],
          slots: [],
          capabilities: 0b11,
          maxFrame: 1100,
          mode: 1,
          protocolVersions: [1],
        },
      },
      true,
    ],
    [0x00, 0x21, { type: 'time_sync_req', body: { t1: 1_000_000 } }, false],
    [0x21, 0x00, { type: 'time_sync_resp', body: { t1: 1_000_000, t2: 52_001_234, t3: 52_001_310 } }, true],
    [
      0x21,
      0x00,
      { type: 'heartbeat', body: { uptimeMs: 52_001, mode: 1, health: 0, resetReason: 1, resetCount: 0 } },
      false,
    ],
  ];
  const line: number[] = [];
  console.log('frames sent (UART wire bytes: COBS + 00 delimiter):');
  exchange.forEach(([src, dst, message, response], i) => {
    // An answer reuses the sequence number of the request it answers.
    const seq = response ? i - 1 : i;
    const wire = encodeStreamFrame(encodeFrame({ src, dst, seq, response }, message));
    console.log(`  ${message.type.padEnd(15)} ${hex(wire)}`);
    line.push(...wire);
    if (i === 2) line.push(0x55, 0xaa, 0x13); // line noise lands in front of the next frame
  });
  console.log('\nreceived (the noise spoils one frame; the receiver resynchronises at the next delimiter):');
  const decoder = new FrameStreamDecoder();
  // Feed the line in uneven chunks, as a serial port delivers it.
  for (let i = 0; i < line.length; i += 7) {
    for (const e of decoder.push(new Uint8Array(line.slice(i, i + 7)))) {
      console.log(
        e.kind === 'frame'
          ? `  ok    ${describeFrame(e.frame, e.bytes)}`
          : `  error ${e.error.code}: ${e.error.message}`,
      );
    }
  }
  console.log(`\ncounters: ${JSON.stringify(decoder.counters.snapshot())}`);
  return 0;
}
