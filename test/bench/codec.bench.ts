import { decodeFrame, encodeFrame, encodeStreamFrame, FrameStreamDecoder } from '@mcubus/protocol';
import { type BenchResult, opsPerSecond, result } from './harness.js';

const data = Uint8Array.from({ length: 1024 }, (_, i) => (i * 31 + 7) & 0xff);
const chunk = { type: 'update_chunk', body: { session: 1, offset: 0x10000, data } } as const;

export function run(): BenchResult[] {
  const frame = encodeFrame({ dst: 0x21, src: 0, seq: 1, priority: 3 }, chunk);
  const wire = encodeStreamFrame(frame);

  // Full UART path both ways: CBOR encode, CRC, COBS, delimiter; then COBS decode, CRC, CBOR + schema.
  const decoder = new FrameStreamDecoder();
  const codecOps = opsPerSecond(() => {
    const w = encodeStreamFrame(encodeFrame({ dst: 0x21, src: 0, seq: 1, priority: 3 }, chunk));
    const events = decoder.push(w);
    if (events.length !== 1 || events[0]?.kind !== 'frame') throw new Error('bench frame did not decode');
  });
  // Reference measured in the same run: copying the same bytes there and back (what a codec that did
  // nothing would cost), so the ratio is machine-independent.
  const sink = new Uint8Array(wire.length);
  const copyOps = opsPerSecond(() => {
    sink.set(frame);
    const back = sink.slice(0, frame.length);
    if (back.length !== frame.length) throw new Error('copy failed');
  });
  const mb = (ops: number) => (ops * data.length) / 1e6;
  const check = decodeFrame(frame);
  if (!check.ok) throw new Error('bench frame does not decode');

  return [
    result(
      'codec.frame_encode_decode',
      mb(codecOps),
      'MB/s',
      mb(copyOps),
      '1 KiB payload frames through CBOR+CRC+COBS encode and decode; ceiling = a plain copy of the same bytes',
    ),
    result(
      'codec.overhead.uart_1k',
      data.length / wire.length,
      'payload/wire bytes',
      1,
      `1024-byte update chunk = ${wire.length} bytes on the UART (COBS + delimiter); ceiling = no overhead; target ≥ 0.97`,
    ),
  ];
}
