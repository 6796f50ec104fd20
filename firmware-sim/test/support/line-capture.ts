import type { LineEndpoint } from '../../src/links/uart-endpoint.js';

export interface Chunk {
  readonly bytes: number[];
  readonly at: number;
}

/** Records every chunk an endpoint receives, with its delivery time. */
export function collect(ep: LineEndpoint): { chunks: Chunk[]; bytes: () => number[] } {
  const chunks: Chunk[] = [];
  ep.onReceive((b, at) => chunks.push({ bytes: [...b], at }));
  return { chunks, bytes: () => chunks.flatMap((c) => c.bytes) };
}

/** Recognisable test bytes: (i·31 + salt) mod 256. */
export function pattern(n: number, salt = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt) & 0xff);
}
