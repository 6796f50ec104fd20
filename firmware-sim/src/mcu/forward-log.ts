import { type BodyOf, ForwardOutcome } from '@mcubus/protocol';

type ForwardRecord = BodyOf<'trace_records'>['records'][number];

/** Encoded size of one record, generously: keeps an answer within the frame limit. */
const RECORD_BYTES = 40;

/**
 * A gateway's log of what it did with each frame it forwarded (TRACE_REQ/TRACE_RECORDS, docs/
 * observability.md "Tracing"): a ring of the last `capacity` records with ever-increasing indexes, so
 * that the host asks for "everything since n" and learns how much it missed when the ring wrapped.
 * Bulk frames (update chunks) are counted, not recorded: a record each would cost more than it tells.
 */
export class ForwardLog {
  readonly #ring: ForwardRecord[] = [];
  #next = 0;
  #bulk = 0;

  constructor(readonly capacity = 512) {}

  /**
   * Adds a record; returns a function that notes when the frame really started on the wire (a frame
   * can wait in the port's queue behind a stalled transfer), or null for bulk frames.
   */
  record(r: Omit<ForwardRecord, 'index'>, priority: number): ((atUs: number) => void) | null {
    if (priority === 3 && r.outcome === ForwardOutcome.forwarded) {
      this.#bulk++;
      return null;
    }
    const rec: { -readonly [K in keyof ForwardRecord]: ForwardRecord[K] } = { ...r, index: this.#next >>> 0 };
    this.#ring.push(rec);
    this.#next++;
    if (this.#ring.length > this.capacity) this.#ring.shift();
    return (atUs) => {
      rec.wireAt = atUs;
    };
  }

  /** The answer to TRACE_REQ: records from `since` on (of the `match`ed frames) that fit `maxFrame`. */
  fetch(q: BodyOf<'trace_req'>, maxFrame: number, ports: readonly string[]): BodyOf<'trace_records'> {
    const oldest = this.#next - this.#ring.length;
    const fit = Math.max(
      1,
      Math.min(q.max ?? 64, 64, Math.floor((maxFrame - 48 - 17 * ports.length) / RECORD_BYTES)),
    );
    const from = Math.max(q.since, oldest);
    const wanted = q.match ? new Set(q.match.map((k) => `${k.src}:${k.dst}:${k.seq}`)) : null;
    const records: ForwardRecord[] = [];
    let i = from - oldest;
    for (; i < this.#ring.length && records.length < fit; i++) {
      const r = this.#ring[i]!;
      if (!wanted || wanted.has(`${r.src}:${r.dst}:${r.seq}`)) records.push(r);
    }
    const first = this.#ring[0];
    return {
      next: (oldest + i) >>> 0,
      oldest: oldest >>> 0,
      ports: [...ports],
      records,
      bulkForwarded: this.#bulk >>> 0,
      ...(first ? { oldestAt: first.at } : {}),
    };
  }
}
