/**
 * The answers a device gave to recent requests, per requester, so that a retransmitted or duplicated
 * request is answered again without being executed twice (docs/protocol.md §5).
 */
export class AnswerCache {
  readonly #bySource = new Map<number, { seq: number; crc: number; answers: Uint8Array[] }[]>();

  constructor(readonly depth = 4) {}

  /** The answers to the same request (same source, seq and frame CRC), if still cached. */
  get(src: number, seq: number, crc: number): Uint8Array[] | undefined {
    return this.#bySource.get(src)?.find((e) => e.seq === seq && e.crc === crc)?.answers;
  }

  /** Starts recording the answers to (src, seq, crc); returns the list to append them to. */
  open(src: number, seq: number, crc: number): Uint8Array[] {
    let list = this.#bySource.get(src);
    if (!list) {
      list = [];
      this.#bySource.set(src, list);
    }
    const existing = list.findIndex((e) => e.seq === seq);
    if (existing >= 0) list.splice(existing, 1);
    const entry = { seq, crc, answers: [] as Uint8Array[] };
    list.push(entry);
    if (list.length > this.depth) list.shift();
    return entry.answers;
  }

  clear(): void {
    this.#bySource.clear();
  }
}
