import { describe, expect, it } from 'vitest';
import { ms, Sim } from '../src/kernel/sim.js';
import { RtuLine, type RtuLineOptions } from '../src/links/rtu-line.js';
import { lineFormat } from '../src/links/uart-format.js';
import { collect, pattern } from './support/line-capture.js';

function line(sim: Sim, extra: Partial<RtuLineOptions> = {}) {
  const l = new RtuLine(sim, { name: 'rs485', ...extra });
  const master = l.attach('master');
  const s1 = l.attach('s1');
  const s2 = l.attach('s2');
  return { l, master, s1, s2, bt: l.byteTimeNs };
}

/** Runs the simulation until virtual time `t`. */
function until(sim: Sim, t: number): void {
  sim.scheduler.runUntil(t);
}

describe('RTU line timing', () => {
  it('defaults to 8E1 at 19200 baud with the protocol package’s t1.5 and t3.5', () => {
    const sim = new Sim(1);
    const { l } = line(sim);
    expect(l.format).toEqual(lineFormat(19200, '8E1'));
    expect(l.byteTimeNs).toBeCloseTo((11 * 1e9) / 19200, 6);
    expect(l.timing.charTimeNs).toBeCloseTo(l.byteTimeNs, 6);
    expect(l.timing.t15Ns).toBeCloseTo(859_375, 3);
    expect(l.timing.t35Ns).toBeCloseTo(2_005_208.333, 2);
  });

  it('uses the fixed 750 µs / 1750 µs gaps above 19200 baud and refuses 7 data bits', () => {
    const sim = new Sim(1);
    const l = new RtuLine(sim, { name: 'fast', format: lineFormat(115200, '8N2') });
    expect(l.timing).toMatchObject({ t15Ns: 750_000, t35Ns: 1_750_000 });
    expect(() => new RtuLine(sim, { name: 'bad', format: lineFormat(9600, '7E1') })).toThrow(RangeError);
    l.attach('x');
    expect(() => l.attach('x')).toThrow(RangeError);
  });
});

describe('RTU multi-drop', () => {
  it('lets every other endpoint hear a write, not the writer', () => {
    const sim = new Sim(1);
    const { l, master, s1, s2, bt } = line(sim);
    const atMaster = collect(master);
    const at1 = collect(s1);
    const at2 = collect(s2);
    const req = pattern(8);
    master.write(req);
    sim.runFor(ms(10));
    const end = Math.round(8 * bt);
    expect(at1.chunks).toEqual([{ bytes: [...req], at: end }]);
    expect(at2.chunks).toEqual([{ bytes: [...req], at: end }]);
    const resp = pattern(7, 9);
    s1.write(resp); // well after t3.5
    sim.runFor(ms(10));
    expect(atMaster.bytes()).toEqual([...resp]);
    expect(at2.bytes()).toEqual([...req, ...resp]);
    expect(at1.bytes()).toEqual([...req]);
    expect(l.counters).toMatchObject({ collisions: 0, t35Violations: 0, t15Gaps: 0 });
  });

  it('garbles a collision for all receivers: the first transmission keeps the framing', () => {
    const sim = new Sim(1);
    const { l, master, s1, s2, bt } = line(sim);
    const at2 = collect(s2);
    const atMaster = collect(master);
    const fromMaster = pattern(8, 1);
    const fromS1 = pattern(8, 2);
    master.write(fromMaster);
    until(sim, Math.round(3 * bt));
    s1.write(fromS1); // starts with the master's character 3
    sim.runFor(ms(20));
    expect(l.counters.collisions).toBe(1);
    const got = at2.bytes();
    // Master's 0…2 intact, 3…7 garbled; s1's 0…4 started inside them and are lost; 5…7 intact.
    expect(got).toHaveLength(11);
    expect(got.slice(0, 3)).toEqual([...fromMaster.subarray(0, 3)]);
    for (let i = 3; i < 8; i++) expect(got[i]).not.toBe(fromMaster[i]);
    expect(got.slice(8)).toEqual([...fromS1.subarray(5)]);
    expect(s2.counters).toMatchObject({ garbled: 5, dropped: 5 });
    expect(atMaster.bytes()).toEqual([...fromS1.subarray(5)]);
    expect(l.counters).toMatchObject({ absorbed: 5, garbled: 5 });
  });

  it('counts one collision when two endpoints start at the same instant', () => {
    const sim = new Sim(1);
    const { l, s1, s2 } = line(sim);
    s1.write(pattern(4));
    s2.write(pattern(4));
    sim.runFor(ms(10));
    expect(l.counters.collisions).toBe(1);
  });

  it('counts t3.5 violations between different endpoints only', () => {
    const sim = new Sim(1);
    const { l, master, s1, s2 } = line(sim);
    const char = l.timing.charTimeNs;
    master.write(pattern(8));
    until(sim, master.txIdleAt + Math.round(2 * char)); // answers too early
    s1.write(pattern(5));
    until(sim, s1.txIdleAt + Math.round(4 * char)); // in time
    s2.write(pattern(5));
    until(sim, s2.txIdleAt + Math.round(1 * char)); // the same endpoint again: no t3.5 rule
    s2.write(pattern(5));
    sim.runFor(ms(20));
    expect(l.counters).toMatchObject({ t35Violations: 1, collisions: 0, t15Gaps: 0 });
  });

  it('counts a slave that answers from its receive callback without waiting t3.5', () => {
    const sim = new Sim(1);
    const { l, master, s1, s2, bt } = line(sim);
    const atMaster = collect(master);
    const at2 = collect(s2);
    const resp = pattern(5, 3);
    s1.onReceive(() => s1.write(resp));
    master.write(pattern(8));
    sim.runFor(ms(20));
    expect(l.counters).toMatchObject({ t35Violations: 1, collisions: 0 });
    const reqEnd = Math.round(8 * bt);
    expect(atMaster.chunks).toEqual([{ bytes: [...resp], at: reqEnd + Math.round(5 * bt) }]);
    expect(at2.chunks.map((c) => c.bytes.length)).toEqual([8, 5]);
    expect(at2.chunks[0]!.at).toBe(reqEnd);
  });

  it('counts a silence between t1.5 and t3.5 inside one endpoint’s frame', () => {
    const sim = new Sim(1);
    const { l, master } = line(sim);
    const char = l.timing.charTimeNs;
    master.write(pattern(3));
    until(sim, master.txIdleAt + Math.round(2 * char));
    master.write(pattern(3)); // 2 characters of silence: the frame is broken
    until(sim, master.txIdleAt + Math.round(5 * char));
    master.write(pattern(3)); // 5 characters: a new frame
    sim.runFor(ms(20));
    expect(l.counters).toMatchObject({ t15Gaps: 1, t35Violations: 0 });
  });

  it('counts the gap a delay fault opens inside a write, even one that splits the frame', () => {
    for (const chars of [2, 5]) {
      const sim = new Sim(1);
      const delay = Math.round((chars * 11 * 1e9) / 19200); // `chars` characters at 19200 8E1
      const { l, master, s1 } = line(sim, {
        faults: [{ sender: 'master', nth: 1, delay: { probability: 1, minNs: delay, maxNs: delay } }],
      });
      const at1 = collect(s1);
      master.write(pattern(8));
      sim.runFor(ms(50));
      master.write(pattern(8)); // the rule acts on the 1st write only
      sim.runFor(ms(50));
      expect(l.counters.t15Gaps).toBe(1);
      expect(master.counters.faultDelays).toBe(1);
      expect(at1.chunks.length).toBe(3);
      expect(at1.bytes()).toEqual([...pattern(8), ...pattern(8)]);
    }
  });
});

describe('RTU idleSince', () => {
  it('is 0 before any traffic, null while a transmission or noise is on the wire, its end after', () => {
    const sim = new Sim(1);
    const { l, master, bt } = line(sim);
    expect(l.idleSince()).toBe(0);
    until(sim, ms(1));
    master.write(pattern(4));
    expect(l.idleSince()).toBeNull();
    until(sim, ms(1) + Math.round(2 * bt));
    expect(l.idleSince()).toBeNull();
    const end = master.txIdleAt;
    until(sim, end);
    expect(l.idleSince()).toBe(end);
    until(sim, end + ms(3));
    expect(l.idleSince()).toBe(end);
    l.noise(sim.now, 2);
    expect(l.idleSince()).toBeNull();
    until(sim, sim.now + Math.round(2 * bt));
    expect(l.idleSince()).toBe(sim.now);
  });
});

describe('RTU impairments', () => {
  it('flips bits on the wire once: every receiver sees the same errors', () => {
    const sim = new Sim(5);
    const { l, master, s1, s2 } = line(sim, { bitErrorRate: 1e-3, format: lineFormat(115200, '8E1') });
    const at1 = collect(s1);
    const at2 = collect(s2);
    master.write(pattern(50_000));
    sim.runFor(ms(10_000));
    // 550 000 bits: mean 550 flips, sd ≈ 23.
    expect(s1.counters.bitErrors).toBeGreaterThan(450);
    expect(s1.counters.bitErrors).toBeLessThan(650);
    expect(s2.counters.bitErrors).toBe(s1.counters.bitErrors);
    expect(l.counters.bitErrors).toBe(s1.counters.bitErrors);
    expect(s1.counters.parityErrors).toBeGreaterThan(0);
    expect(at2.bytes()).toEqual(at1.bytes());
    expect(master.counters.bitErrors).toBe(0);
  });

  it('applies the fault plan per write', () => {
    const sim = new Sim(1);
    const { master, s1 } = line(sim, { faults: [{ sender: 'master', nth: 2, drop: 1 }] });
    const at1 = collect(s1);
    for (let i = 0; i < 3; i++) {
      master.write(pattern(4, i));
      sim.runFor(ms(10));
    }
    expect(at1.bytes()).toEqual([...pattern(4, 0), ...pattern(4, 2)]);
    expect(master.counters.faultDrops).toBe(1);
  });

  it('garbles a slave response hit by a noise burst, for every listener', () => {
    const sim = new Sim(1);
    const { l, master, s1, s2, bt } = line(sim);
    const atMaster = collect(master);
    const at2 = collect(s2);
    const resp = pattern(6);
    s1.write(resp);
    l.noise(Math.round(1.5 * bt), 1); // over characters 1 and 2
    sim.runFor(ms(10));
    expect(atMaster.bytes()).toEqual(at2.bytes());
    const got = atMaster.bytes();
    expect(got).toHaveLength(6);
    expect([0, 3, 4, 5].map((i) => got[i])).toEqual([0, 3, 4, 5].map((i) => resp[i]));
    expect(got[1]).not.toBe(resp[1]);
    expect(got[2]).not.toBe(resp[2]);
    expect(l.counters).toMatchObject({ noiseBytes: 1, absorbed: 1, garbled: 2, collisions: 0 });
  });

  it('overruns a busy slave’s FIFO while the master keeps talking', () => {
    const sim = new Sim(1);
    const l = new RtuLine(sim, { name: 'rs485' });
    const master = l.attach('master');
    const slave = l.attach('slave', { rxFifoBytes: 4, isBusy: (t) => (t < ms(20) ? ms(20) : null) });
    const at = collect(slave);
    const req = pattern(20);
    master.write(req); // 20 × 572.9 µs = 11.5 ms, all inside the stall
    sim.runFor(ms(40));
    expect(slave.counters.overrun).toBe(16);
    expect(at.chunks).toEqual([{ bytes: [...req.subarray(0, 4)], at: ms(20) }]);
  });
});

describe('RTU determinism', () => {
  const scenario = (seed: number) => {
    const sim = new Sim(seed);
    const { l, master, s1, s2 } = line(sim, { bitErrorRate: 1e-3, faults: [{ corrupt: 0.1, drop: 0.05 }] });
    const got: number[] = [];
    for (const ep of [master, s1, s2]) ep.onReceive((b) => got.push(...b));
    for (let i = 0; i < 40; i++) {
      master.write(pattern(8, i));
      sim.runFor(ms(10));
      (i % 2 === 0 ? s1 : s2).write(pattern(12, i));
      l.noise(sim.now + ms(2), 2);
      sim.runFor(ms(15));
    }
    return { digest: sim.trace.digest(), got, counters: { ...l.counters } };
  };

  it('gives the same trace for the same seed and a different one for another seed', () => {
    const a = scenario(7);
    const b = scenario(7);
    expect(b.digest).toBe(a.digest);
    expect(b.got).toEqual(a.got);
    expect(b.counters).toEqual(a.counters);
    expect(scenario(8).digest).not.toBe(a.digest);
  });
});
