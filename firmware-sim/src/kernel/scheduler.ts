/**
 * Discrete-event scheduler with a virtual clock in nanoseconds. Nothing in the simulator reads wall
 * time: components schedule callbacks at virtual times and the scheduler runs them in (time, insertion)
 * order, so a run is a pure function of the scenario and the seed.
 */
export type SimTime = number; // nanoseconds since the start of the simulation

export interface Timer {
  readonly at: SimTime;
  cancel(): void;
}

interface Entry {
  at: SimTime;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export const NS_PER_US = 1_000;
export const NS_PER_MS = 1_000_000;
export const NS_PER_S = 1_000_000_000;

export class Scheduler {
  #now: SimTime = 0;
  #seq = 0;
  #heap: Entry[] = [];
  #executed = 0;

  get now(): SimTime {
    return this.#now;
  }

  /** Events run so far (for the speed benchmark and for sanity checks). */
  get executed(): number {
    return this.#executed;
  }

  get pending(): number {
    return this.#heap.length;
  }

  /** Time of the next pending event, or undefined when there is none. */
  nextEventAt(): SimTime | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
    return this.#heap[0]?.at;
  }

  at(time: SimTime, fn: () => void): Timer {
    if (!(time >= this.#now)) throw new RangeError(`cannot schedule at ${time} ns: now is ${this.#now} ns`);
    const entry: Entry = { at: time, seq: this.#seq++, fn, cancelled: false };
    this.#push(entry);
    return {
      at: time,
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  after(delay: SimTime, fn: () => void): Timer {
    return this.at(this.#now + Math.max(0, delay), fn);
  }

  /** Runs events up to and including time `end`, then sets the clock to `end`. */
  runUntil(end: SimTime): void {
    while (this.#heap.length > 0 && this.#heap[0]!.at <= end) this.#runNext();
    if (end > this.#now) this.#now = end;
  }

  runFor(duration: SimTime): void {
    this.runUntil(this.#now + duration);
  }

  /** Runs until `done()` holds or virtual time passes `limit`; returns whether `done()` held. */
  runUntilCondition(done: () => boolean, limit: SimTime): boolean {
    while (!done()) {
      if (this.#heap.length === 0 || this.#heap[0]!.at > limit) {
        this.#now = Math.max(this.#now, limit);
        return done();
      }
      this.#runNext();
    }
    return true;
  }

  #runNext(): void {
    const e = this.#pop();
    if (e.cancelled) return;
    this.#now = e.at;
    this.#executed++;
    e.fn();
  }

  #less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(e: Entry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): Entry {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
