import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../src/health/index.js';
import type { HealthEvent, HealthInput } from '../src/health/types.js';

/**
 * Devices known from an earlier run ('expect'): a daemon restarted while a device was powered off
 * never hears it, and before this input never reported it at all (found by the simulation soak).
 */
const S = 1_000_000;
const hb = { uptimeMs: 1000, mode: 1, health: 0, resetReason: 1, resetCount: 0, periodMs: 1000 };

function run(inputs: [number, HealthInput][], untilUs: number) {
  const mon = new HealthMonitor();
  const events: HealthEvent[] = [];
  let wake: number | undefined;
  const apply = (t: number, input: HealthInput) => {
    const out = mon.handle(input, t);
    events.push(...out.events);
    wake = out.wakeAt;
  };
  for (const [t, input] of inputs) {
    while (wake !== undefined && wake <= t) apply(wake, { type: 'tick' });
    apply(t, input);
  }
  while (wake !== undefined && wake <= untilUs) apply(wake, { type: 'tick' });
  return { mon, events };
}

const states = (events: HealthEvent[]) =>
  events.flatMap((e) => (e.kind === 'state' ? [[e.device, e.to, e.atUs / S]] : []));

describe('expected devices', () => {
  it('a silent expected device goes suspect 1.2 and down 2.3 periods after its grace', () => {
    const { mon, events } = run([[0, { type: 'expect', device: 0x21, via: null, graceUs: 5 * S }]], 20 * S);
    expect(states(events)).toEqual([
      [0x21, 'suspect', 6.2],
      [0x21, 'down', 7.3],
    ]);
    expect(mon.snapshot().map((d) => [d.device, d.state])).toEqual([[0x21, 'down']]);
  });

  it('one that heartbeats within its grace is simply up, and the input never overrides a heard device', () => {
    const { mon, events } = run(
      [
        [0, { type: 'heartbeat', device: 0x10, body: hb, via: null }],
        [0, { type: 'expect', device: 0x10, via: null, graceUs: 5 * S }],
        [0, { type: 'expect', device: 0x21, via: 0x10, graceUs: 5 * S }],
        [1 * S, { type: 'heartbeat', device: 0x10, body: { ...hb, uptimeMs: 2000 }, via: null }],
        [2 * S, { type: 'heartbeat', device: 0x10, body: { ...hb, uptimeMs: 3000 }, via: null }],
        [2 * S, { type: 'heartbeat', device: 0x21, body: hb, via: 0x10 }],
      ],
      2 * S,
    );
    expect(states(events)).toEqual([
      [0x10, 'up', 0],
      [0x21, 'up', 2],
    ]);
    expect(mon.snapshot().map((d) => [d.device, d.state, d.via])).toEqual([
      [0x10, 'up', null],
      [0x21, 'up', 0x10],
    ]);
  });
});
