/**
 * pcapng writer (draft-ietf-opsawg-pcapng), sans-IO: each function returns the bytes of one block.
 * Only what mcubus captures need: a Section Header Block, one Interface Description Block per bus and
 * Enhanced Packet Blocks with a direction flag and an optional comment. Everything is little-endian:
 * the byte-order magic tells readers so.
 */

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 0x00000001;
export const BLOCK_EPB = 0x00000006;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Link types used by mcubus captures (https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE_USER0 = 147;
export const LINKTYPE_USER1 = 148;
export const LINKTYPE_CAN_SOCKETCAN = 227;

/** Option codes. */
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;

/** EPB flags bits 0–1: 01 inbound, 10 outbound (00 = unknown). */
export type PacketDirection = 'in' | 'out';
const DIRECTION_BITS: Readonly<Record<PacketDirection, number>> = { in: 0b01, out: 0b10 };

/** The largest packet a capture keeps; longer ones are cut and keep their original length. */
export const DEFAULT_SNAPLEN = 65_535;

interface Option {
  readonly code: number;
  readonly value: Uint8Array;
}

const utf8 = new TextEncoder();

function textOption(code: number, text: string): Option {
  return { code, value: utf8.encode(text) };
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function optionsLength(options: readonly Option[]): number {
  if (options.length === 0) return 0;
  // Each option: code (2), length (2), value padded to 32 bits; then opt_endofopt (4).
  return options.reduce((sum, o) => sum + 4 + pad4(o.value.length), 0) + 4;
}

function writeOptions(view: DataView, bytes: Uint8Array, at: number, options: readonly Option[]): number {
  if (options.length === 0) return at;
  let p = at;
  for (const o of options) {
    view.setUint16(p, o.code, true);
    view.setUint16(p + 2, o.value.length, true);
    bytes.set(o.value, p + 4);
    p += 4 + pad4(o.value.length);
  }
  view.setUint16(p, OPT_ENDOFOPT, true);
  view.setUint16(p + 2, 0, true);
  return p + 4;
}

/**
 * A block: type, total length, `body` (already padded to 32 bits), options, total length again.
 * `fill` writes the fixed body at offset 8.
 */
function block(
  type: number,
  bodyLength: number,
  options: readonly Option[],
  fill: (view: DataView, bytes: Uint8Array) => void,
): Uint8Array {
  const total = 12 + bodyLength + optionsLength(options);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, total, true);
  fill(view, bytes);
  writeOptions(view, bytes, 8 + bodyLength, options);
  view.setUint32(total - 4, total, true);
  return bytes;
}

/** Section Header Block, version 1.0, section length unknown (−1): a capture is written as a stream. */
export function sectionHeaderBlock(opts: { userAppl?: string; comment?: string } = {}): Uint8Array {
  const options: Option[] = [];
  if (opts.comment !== undefined) options.push(textOption(OPT_COMMENT, opts.comment));
  if (opts.userAppl !== undefined) options.push(textOption(SHB_USERAPPL, opts.userAppl));
  return block(BLOCK_SHB, 16, options, (view) => {
    view.setUint32(8, BYTE_ORDER_MAGIC, true);
    view.setUint16(12, 1, true);
    view.setUint16(14, 0, true);
    view.setBigInt64(16, -1n, true);
  });
}

export interface InterfaceDescription {
  readonly linkType: number;
  /** if_name: the bus name. */
  readonly name: string;
  readonly description?: string;
  readonly snapLen?: number;
}

/** Interface Description Block with if_tsresol = 6: every timestamp in the section is in µs. */
export function interfaceDescriptionBlock(i: InterfaceDescription): Uint8Array {
  const options: Option[] = [textOption(IF_NAME, i.name)];
  if (i.description !== undefined) options.push(textOption(IF_DESCRIPTION, i.description));
  options.push({ code: IF_TSRESOL, value: Uint8Array.of(6) });
  return block(BLOCK_IDB, 8, options, (view) => {
    view.setUint16(8, i.linkType, true);
    view.setUint16(10, 0, true);
    view.setUint32(12, i.snapLen ?? DEFAULT_SNAPLEN, true);
  });
}

export interface PacketRecord {
  /** Index of the interface's IDB in the section (0 = first). */
  readonly interfaceId: number;
  /** µs since 1970-01-01 UTC (if_tsresol 6); a whole number. */
  readonly timestampUs: number;
  readonly data: Uint8Array;
  /** Length on the wire when `data` was cut to the snap length (default data.length). */
  readonly originalLength?: number;
  readonly direction?: PacketDirection;
  readonly comment?: string;
}

/** Enhanced Packet Block: the 64-bit timestamp split in high and low 32-bit words, data padded to 32 bits. */
export function enhancedPacketBlock(p: PacketRecord): Uint8Array {
  if (!Number.isSafeInteger(p.timestampUs) || p.timestampUs < 0) {
    throw new RangeError(
      `a packet timestamp must be a whole non-negative number of µs, not ${p.timestampUs}`,
    );
  }
  const options: Option[] = [];
  if (p.direction !== undefined) {
    const flags = new Uint8Array(4);
    new DataView(flags.buffer).setUint32(0, DIRECTION_BITS[p.direction], true);
    options.push({ code: EPB_FLAGS, value: flags });
  }
  if (p.comment !== undefined) options.push(textOption(OPT_COMMENT, p.comment));
  const ts = BigInt(p.timestampUs);
  return block(BLOCK_EPB, 20 + pad4(p.data.length), options, (view, bytes) => {
    view.setUint32(8, p.interfaceId, true);
    view.setUint32(12, Number(ts >> 32n), true);
    view.setUint32(16, Number(ts & 0xffff_ffffn), true);
    view.setUint32(20, p.data.length, true);
    view.setUint32(24, p.originalLength ?? p.data.length, true);
    bytes.set(p.data, 28);
  });
}

/** Blocks laid end to end: a whole file, or the head a stream starts with. */
export function concatBlocks(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
