/**
 * The answers a device gave to recent requests, per requester, so that a retransmitted or duplicated
 * request is answered again without being executed twice (docs/protocol.md §5).
 */
export class AnswerCache {
  readonly #bySource = new Map<number, { seq: number; answers: Uint8Array[] }[]>();

  constructor(readonly depth = 4) {}

  get(src: number, seq: number): Uint8Array[] | undefined {
    return this.#bySource.get(src)?.find((e) => e.seq === seq)?.answers;
  }

  /** Starts recording the answers to (src, seq); returns the list to append them to. */
  open(src: number, seq: number): Uint8Array[] {
    let list = this.#bySource.get(src);
    if (!list) {
      list = [];
      this.#bySource.set(src, list);
    }
    const entry = { seq, answers: [] as Uint8Array[] };
    list.push(entry);
    if (list.length > this.depth) list.shift();
    return entry.answers;
  }

  clear(): void {
    this.#bySource.clear();
  }
}
