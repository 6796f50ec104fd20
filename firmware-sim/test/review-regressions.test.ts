import { describe, expect, it } from 'vitest';
import { CanCarriage } from '../src/carriage/can-carriage.js';
import { Prng } from '../src/kernel/prng.js';
import { NS_PER_S } from '../src/kernel/scheduler.js';
import { Sim } from '../src/kernel/sim.js';
import { CanBus } from '../src/links/can-bus.js';
import { DeviceClock } from '../src/mcu/clock.js';

describe('regressions found in review', () => {
  it('the device clock answers for a moment just before its current drift segment', () => {
    const c = new DeviceClock({ skewPpm: 30, driftPpmPerSqrtHour: 5 }, new Prng(3));
    const before = 10 * NS_PER_S - 1_500_000;
    c.readUs(10 * NS_PER_S + 1); // moves into the next segment
    expect(() => c.readUs(before)).not.toThrow();
    expect(c.readUs(before)).toBeLessThan(c.readUs(10 * NS_PER_S));
  });

  it('an ISO-TP wait that ends at a fractional µs still times out (no livelock at one instant)', () => {
    const sim = new Sim(1);
    const bus = new CanBus(sim, { name: 'can0', nominalBitrate: 500_000 });
    const sender = new CanCarriage('can0', sim, bus.attach('a'), { address: 0x21 });
    bus.attach('silent'); // acknowledges frames but never sends flow control
    sim.scheduler.at(1_589_451_456, () =>
      sender.send({ priority: 2, nextHop: 0x22, build: () => new Uint8Array(20).fill(7) }),
    );
    sim.runFor(3 * NS_PER_S);
    expect(sim.scheduler.executed).toBeLessThan(1000);
    expect(sender.counters()).toMatchObject({ timeout_bs: 1 });
  });
});
