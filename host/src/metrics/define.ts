import { Counter, Gauge, type LabelValues, type Registry } from 'prom-client';

/** One sample of a metric computed at scrape time: its labels and value. */
export type Sample<L extends string> = readonly [labels: LabelValues<L>, value: number];

export interface Spec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
}

/**
 * A counter whose values are read from state the daemon already keeps (transport and link counters)
 * when scraped, instead of being incremented alongside it: one count, no second copy to drift.
 */
export function scrapedCounter<L extends string>(
  registry: Registry,
  spec: Spec<L>,
  read: () => Iterable<Sample<L>>,
): Counter<L> {
  const metric: Counter<L> = new Counter<L>({
    ...spec,
    registers: [registry],
    collect: () => {
      metric.reset();
      for (const [labels, value] of read()) metric.inc(labels, value);
    },
  });
  return metric;
}

/** A gauge read from the daemon's state when scraped. */
export function scrapedGauge<L extends string>(
  registry: Registry,
  spec: Spec<L>,
  read: () => Iterable<Sample<L>>,
): Gauge<L> {
  const metric: Gauge<L> = new Gauge<L>({
    ...spec,
    registers: [registry],
    collect: () => {
      metric.reset();
      for (const [labels, value] of read()) metric.set(labels, value);
    },
  });
  return metric;
}

/**
 * The samples of a state set: one series per possible state, 1 for the current one and 0 for the
 * others, so `metric{state="down"} == 1` alerts and a state never seen still has a series.
 */
export function* stateSet<L extends string>(
  labels: LabelValues<L>,
  stateLabel: L,
  states: readonly string[],
  current: string,
): Iterable<Sample<L>> {
  // A state the list does not know yet (a newer daemon's) still shows, rather than vanishing.
  const all = states.includes(current) ? states : [...states, current];
  for (const s of all) yield [{ ...labels, [stateLabel]: s } as LabelValues<L>, s === current ? 1 : 0];
}
