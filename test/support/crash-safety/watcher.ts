import type { ApiClient, EventView } from '@mcubus/host';

/**
 * Follows one daemon's journal over the event stream (from the last id seen, so nothing written
 * between a restart and the stream opening is missed). Every entry it hands out is "acknowledged":
 * it must survive any later kill. Its last update.* entry says where the campaign stands.
 */
export class JournalWatcher {
  readonly acknowledged = new Map<number, EventView>();
  /** Last update.<phase> entry of the current daemon process (reset at each restart). */
  last: { device: number; phase: string; atMs: number } | undefined;
  readonly #abort: AbortController[] = [];

  get lastId(): number {
    let max = 0;
    for (const id of this.acknowledged.keys()) max = Math.max(max, id);
    return max;
  }

  /** Follows a (re)started daemon; the previous one's stream ends with its process. */
  follow(client: ApiClient): void {
    this.last = undefined;
    const abort = new AbortController();
    this.#abort.push(abort);
    void client
      .streamEvents((ev) => this.#seen(ev), { lastEventId: this.lastId, signal: abort.signal })
      .catch(() => {
        // The daemon was killed under the stream: expected.
      });
  }

  /** Entries of `kind` (and campaign `campaign` in their data, if given) since `sinceId`. */
  find(kind: string, sinceId = 0, campaign?: number): EventView[] {
    return [...this.acknowledged.values()].filter(
      (e) =>
        e.id > sinceId &&
        e.kind === kind &&
        (campaign === undefined || (e.data as { campaign?: number } | undefined)?.campaign === campaign),
    );
  }

  close(): void {
    for (const a of this.#abort.splice(0)) a.abort();
  }

  #seen(ev: EventView): void {
    this.acknowledged.set(ev.id, ev);
    if (ev.kind.startsWith('update.') && ev.device !== undefined)
      this.last = { device: ev.device, phase: ev.kind.slice('update.'.length), atMs: Date.now() };
  }
}
