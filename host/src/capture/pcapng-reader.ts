import { CauseCounters, type CodedError, codedError, err, ok, type Result } from '@mcubus/protocol';
import { BLOCK_EPB, BLOCK_IDB, BLOCK_SHB, BYTE_ORDER_MAGIC } from './pcapng.js';

/**
 * Reads back what pcapng.ts writes (little-endian sections only), sans-IO: the CLI counts the packets
 * of the stream it saves, and tests check captures without Wireshark.
 */

export type PcapngErrorCode = 'bad_block_length' | 'not_pcapng' | 'big_endian' | 'bad_block';
export type PcapngError = CodedError<PcapngErrorCode>;

export interface RawBlock {
  readonly type: number;
  /** The whole block, header and trailer included. */
  readonly bytes: Uint8Array;
}

/**
 * Cuts a byte stream into blocks as they complete. A block length that is not a multiple of 4, under
 * 12 bytes or over `maxBlock` cannot be resynchronised from (pcapng has no marker to find the next
 * block): the reader reports it once and stops.
 */
export class PcapngBlockSplitter {
  readonly counters = new CauseCounters<PcapngErrorCode | 'blocks'>();
  #buf = new Uint8Array(0);
  #failed: PcapngError | undefined;

  constructor(readonly maxBlock = 1 << 20) {}

  get failed(): PcapngError | undefined {
    return this.#failed;
  }

  push(chunk: Uint8Array): Result<RawBlock[], PcapngError> {
    if (this.#failed) return err(this.#failed);
    const joined = new Uint8Array(this.#buf.length + chunk.length);
    joined.set(this.#buf, 0);
    joined.set(chunk, this.#buf.length);
    const out: RawBlock[] = [];
    let at = 0;
    while (joined.length - at >= 8) {
      const view = new DataView(joined.buffer, joined.byteOffset + at);
      const type = view.getUint32(0, true);
      const length = view.getUint32(4, true);
      if (length < 12 || length % 4 !== 0 || length > this.maxBlock) {
        this.#failed = codedError(
          'bad_block_length',
          `block at stream offset ${at} claims ${length} bytes (needs a multiple of 4, 12–${this.maxBlock})`,
        );
        this.counters.add('bad_block_length');
        return err(this.#failed);
      }
      if (joined.length - at < length) break;
      out.push({ type, bytes: joined.slice(at, at + length) });
      this.counters.add('blocks');
      at += length;
    }
    this.#buf = joined.slice(at);
    return ok(out);
  }
}

export interface ParsedInterface {
  readonly linkType: number;
  readonly name?: string;
  readonly tsresol?: number;
}

export interface ParsedPacket {
  readonly interfaceId: number;
  readonly timestampUs: number;
  readonly data: Uint8Array;
  readonly originalLength: number;
  /** 'in' | 'out' from epb_flags, undefined when absent or unknown. */
  readonly direction?: 'in' | 'out';
  readonly comment?: string;
}

export interface ParsedCapture {
  readonly interfaces: ParsedInterface[];
  readonly packets: ParsedPacket[];
}

const utf8 = new TextDecoder();

function readOptions(bytes: Uint8Array, from: number, to: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  let p = from;
  while (p + 4 <= to) {
    const code = view.getUint16(p, true);
    const length = view.getUint16(p + 2, true);
    if (code === 0) break;
    out.set(code, bytes.subarray(p + 4, p + 4 + length));
    p += 4 + ((length + 3) & ~3);
  }
  return out;
}

/** Parses a whole little-endian capture of one section. */
export function parsePcapng(bytes: Uint8Array): Result<ParsedCapture, PcapngError> {
  const split = new PcapngBlockSplitter(bytes.length + 12).push(bytes);
  if (!split.ok) return split;
  const blocks = split.value;
  const first = blocks[0];
  if (!first || first.type !== BLOCK_SHB)
    return err(codedError('not_pcapng', 'no section header block first'));
  const magic = new DataView(first.bytes.buffer, first.bytes.byteOffset).getUint32(8, true);
  if (magic !== BYTE_ORDER_MAGIC) {
    return err(
      codedError('big_endian', `byte-order magic 0x${magic.toString(16)}: only little-endian is read`),
    );
  }
  const interfaces: ParsedInterface[] = [];
  const packets: ParsedPacket[] = [];
  for (const b of blocks.slice(1)) {
    const view = new DataView(b.bytes.buffer, b.bytes.byteOffset);
    const end = b.bytes.length - 4;
    if (b.type === BLOCK_IDB) {
      const opts = readOptions(b.bytes, 16, end);
      const name = opts.get(2);
      const tsresol = opts.get(9);
      interfaces.push({
        linkType: view.getUint16(8, true),
        ...(name ? { name: utf8.decode(name) } : {}),
        ...(tsresol ? { tsresol: tsresol[0]! } : {}),
      });
    } else if (b.type === BLOCK_EPB) {
      if (b.bytes.length < 32) return err(codedError('bad_block', `EPB of ${b.bytes.length} bytes`));
      const captured = view.getUint32(20, true);
      // Not `(captured + 3) & ~3`: for a length of 2^31 or more that bit arithmetic goes negative.
      const dataEnd = 28 + Math.ceil(captured / 4) * 4;
      if (dataEnd > end) return err(codedError('bad_block', `EPB claims ${captured} captured bytes`));
      const opts = readOptions(b.bytes, dataEnd, end);
      const flags = opts.get(2);
      const dirBits =
        flags && flags.length >= 4 ? new DataView(flags.buffer, flags.byteOffset).getUint32(0, true) & 3 : 0;
      const comment = opts.get(1);
      packets.push({
        interfaceId: view.getUint32(8, true),
        timestampUs: view.getUint32(12, true) * 2 ** 32 + view.getUint32(16, true),
        data: b.bytes.slice(28, 28 + captured),
        originalLength: view.getUint32(24, true),
        ...(dirBits === 1
          ? { direction: 'in' as const }
          : dirBits === 2
            ? { direction: 'out' as const }
            : {}),
        ...(comment ? { comment: utf8.decode(comment) } : {}),
      });
    }
  }
  return ok({ interfaces, packets });
}
