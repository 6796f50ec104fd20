/**
 * CRC-32C (Castagnoli): poly 0x1EDC6F41 (reflected 0x82F63B78), init 0xFFFFFFFF, input and output
 * reflected, final xor 0xFFFFFFFF. Check value of ASCII "123456789" is 0xE3069283. Chosen over
 * CRC-32/ISO-HDLC for its better Hamming distance at our frame lengths (and hardware support on MCUs).
 */
const TABLE = buildTable(0x82f63b78);

function buildTable(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
}

/** Continues a running CRC; start with `crc32cInit`, end with `crc32cFinish`. */
export function crc32cUpdate(state: number, bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = state;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

export const crc32cInit = 0xffffffff;

export function crc32cFinish(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

export function crc32c(bytes: Uint8Array): number {
  return crc32cFinish(crc32cUpdate(crc32cInit, bytes));
}
