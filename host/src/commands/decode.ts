import { decodeFrame, FrameStreamDecoder } from '@mcubus/protocol';
import { describeFrame, describeHeaderOnly } from '../frame-format.js';

/**
 * `mcubus decode HEX…`: decodes frames given in hex. With --stream the hex is a UART byte stream
 * (COBS frames separated by 00) and may hold several frames and garbage.
 */
export function decodeCommand(hexArgs: string[], opts: { stream: boolean }): number {
  const text = hexArgs.join('').replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(text) || text.length === 0) {
    console.error('mcubus decode: expected an even number of hex digits (spaces and colons allowed)');
    return 2;
  }
  const bytes = new Uint8Array(Buffer.from(text, 'hex'));
  if (!opts.stream) {
    const r = decodeFrame(bytes);
    if (r.ok) {
      console.log(describeFrame(r.value, bytes));
      return 0;
    }
    console.log(`error ${r.error.code}: ${r.error.message}; ${describeHeaderOnly(bytes)}`);
    return 1;
  }
  const decoder = new FrameStreamDecoder();
  let bad = 0;
  for (const e of decoder.push(bytes)) {
    if (e.kind === 'frame') console.log(describeFrame(e.frame, e.bytes));
    else {
      bad++;
      console.log(
        `error ${e.error.code}: ${e.error.message}${e.bytes ? `; ${describeHeaderOnly(e.bytes)}` : ''}`,
      );
    }
  }
  if (decoder.pending > 0) console.log(`${decoder.pending} byte(s) wait for a delimiter`);
  console.log(`counters: ${JSON.stringify(decoder.counters.snapshot())}`);
  return bad > 0 ? 1 : 0;
}
