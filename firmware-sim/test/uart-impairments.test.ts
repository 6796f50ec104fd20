import { describe, expect, it } from 'vitest';
import { ms, Sim } from '../src/kernel/sim.js';
import type { FaultRule } from '../src/links/faults.js';
import { byteTimeNs, type FrameSpec, lineFormat } from '../src/links/uart-format.js';
import { UartLink, type UartLinkOptions } from '../src/links/uart-link.js';
import { collect, pattern } from './support/line-capture.js';

function link(sim: Sim, extra: Partial<UartLinkOptions> = {}, spec: FrameSpec = '8N1') {
  return new UartLink(sim, {
    name: 'u0',
    format: lineFormat(115200, spec),
    a: { name: 'host' },
    b: { name: 'mcu' },
    ...extra,
  });
}

/** Whether `sub` is `full` with some elements removed (greedy matching decides it). */
function isSubsequence(sub: readonly number[], full: ArrayLike<number>): boolean {
  let j = 0;
  for (let i = 0; i < full.length && j < sub.length; i++) if (full[i] === sub[j]) j++;
  return j === sub.length;
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}

/** Writes `count` writes of `size` bytes from a, 1 ms apart, and returns what b got. */
function writesFromA(l: UartLink, sim: Sim, count: number, size: number): number[][] {
  const got: number[][] = [];
  l.b.onReceive((b) => got.push([...b]));
  for (let i = 0; i < count; i++) {
    l.a.write(pattern(size, i));
    sim.runFor(ms(1));
  }
  sim.runFor(ms(10));
  return got;
}

describe('UART random impairments', () => {
  it('flips bits at the configured bit error rate, losing characters whose start bit flips', () => {
    const sim = new Sim(11);
    const l = link(sim, { bitErrorRate: 1e-3 });
    const rx = collect(l.b);
    l.a.write(pattern(100_000));
    sim.runFor(ms(10_000));
    const c = l.b.counters;
    // 1 000 000 bits: mean 1000 flips, sd ≈ 32; ±150 is > 4.5 sd.
    expect(c.bitErrors).toBeGreaterThan(850);
    expect(c.bitErrors).toBeLessThan(1150);
    expect(l.counters('a→b').bitErrors).toBe(c.bitErrors);
    // Start bits: mean 100 (sd 10); start + stop bits: mean 200 (sd 14).
    expect(c.dropped).toBeGreaterThan(55);
    expect(c.dropped).toBeLessThan(145);
    expect(c.framingErrors).toBeGreaterThan(140);
    expect(c.framingErrors).toBeLessThan(260);
    expect(c.parityErrors).toBe(0); // 8N1 has no parity
    expect(rx.bytes()).toHaveLength(100_000 - c.dropped);
    expect(l.counters('a→b').startBitLosses).toBe(c.dropped);
    expect(l.a.counters.bitErrors).toBe(0); // nothing went b→a
  });

  it('flags parity errors on 8E1 at the expected rate (odd number of flips among 9 bits)', () => {
    const sim = new Sim(12);
    const l = link(sim, { bitErrorRate: 1e-3 }, '8E1');
    l.a.write(pattern(100_000));
    sim.runFor(ms(20_000));
    // P(odd flips in 9 bits) ≈ 9p = 0.9 %: mean ≈ 893, sd ≈ 30.
    expect(l.b.counters.parityErrors).toBeGreaterThan(770);
    expect(l.b.counters.parityErrors).toBeLessThan(1020);
  });

  it('drops characters at the configured rate and leaves the others intact', () => {
    const sim = new Sim(13);
    const l = link(sim, { byteDropRate: 0.01 });
    const rx = collect(l.b);
    const data = pattern(100_000);
    l.a.write(data);
    sim.runFor(ms(10_000));
    const dropped = l.b.counters.dropped;
    expect(dropped).toBeGreaterThan(870); // mean 1000, sd ≈ 31
    expect(dropped).toBeLessThan(1130);
    expect(l.counters('a→b').dropped).toBe(dropped);
    expect(rx.bytes()).toHaveLength(100_000 - dropped);
    expect(isSubsequence(rx.bytes(), data)).toBe(true);
  });

  it('applies random fault rates per write', () => {
    const sim = new Sim(14);
    const l = link(sim, { faults: [{ drop: 0.2 }, { duplicate: 0.1 }, { corrupt: 0.1 }] });
    const got = writesFromA(l, sim, 2000, 4);
    const c = l.a.counters;
    expect(c.faultDrops).toBeGreaterThan(320); // mean 400, sd ≈ 18
    expect(c.faultDrops).toBeLessThan(480);
    // Duplicates and corruptions are drawn for every write, dropped or not; count those that went out.
    expect(c.faultDuplicates).toBeGreaterThan(100);
    expect(c.faultDuplicates).toBeLessThan(225);
    expect(c.faultCorruptions).toBeGreaterThan(100);
    expect(c.faultCorruptions).toBeLessThan(225);
    const received = got.reduce((n, g) => n + g.length, 0);
    expect(received).toBe(4 * (2000 - c.faultDrops + c.faultDuplicates));
    expect(c.bytesSent).toBe(received);
  });
});

describe('UART fault plan, deterministic rules', () => {
  const run = (faults: FaultRule[], count = 5, size = 4) => {
    const sim = new Sim(1);
    const l = link(sim, { faults });
    return { l, got: writesFromA(l, sim, count, size) };
  };

  it('drops exactly the nth write', () => {
    const { l, got } = run([{ nth: 3, drop: 1 }]);
    expect(got).toEqual([pattern(4, 0), pattern(4, 1), pattern(4, 3), pattern(4, 4)].map((p) => [...p]));
    expect(l.a.counters.faultDrops).toBe(1);
    expect(l.a.counters.bytesSent).toBe(16);
  });

  it('duplicates exactly the nth write, back to back', () => {
    const { l, got } = run([{ nth: 2, duplicate: 1 }]);
    expect(got[1]).toEqual([...pattern(4, 1), ...pattern(4, 1)]);
    expect(got).toHaveLength(5);
    expect(l.a.counters.bytesSent).toBe(24);
  });

  it('corrupts exactly one bit of the nth write', () => {
    const { l, got } = run([{ nth: 1, corrupt: 1 }], 2, 8);
    const flipped = got[0]!.reduce((n, v, i) => n + popcount(v ^ pattern(8, 0)[i]!), 0);
    expect(flipped).toBe(1);
    expect(got[1]).toEqual([...pattern(8, 1)]);
    expect(l.a.counters.faultCorruptions).toBe(1);
  });

  it('delays the nth write by stalling it inside: first byte on time, last byte exactly later', () => {
    const sim = new Sim(1);
    const l = link(sim, { faults: [{ nth: 1, delay: { probability: 1, minNs: ms(1), maxNs: ms(1) } }] });
    const bt = byteTimeNs(l.format);
    const rx = collect(l.b);
    l.a.write(pattern(10));
    sim.runFor(ms(5));
    expect(rx.bytes()).toEqual([...pattern(10)]);
    expect(rx.chunks).toHaveLength(2);
    const k = rx.chunks[0]!.bytes.length;
    expect(k).toBeGreaterThanOrEqual(1);
    expect(k).toBeLessThanOrEqual(9);
    expect(rx.chunks[0]!.at).toBe(Math.round(k * bt));
    expect(Math.abs(rx.chunks[1]!.at - (10 * bt + ms(1)))).toBeLessThanOrEqual(1);
    expect(l.a.txIdleAt).toBe(rx.chunks[1]!.at);
    expect(l.a.counters.faultDelays).toBe(1);
  });

  it('applies a rule only to its sender and inside its time window', () => {
    const sim = new Sim(1);
    const l = link(sim, { faults: [{ sender: 'mcu', drop: 1, from: ms(2), until: ms(4) }] });
    const atA = collect(l.a);
    const atB = collect(l.b);
    for (let i = 0; i < 6; i++) {
      l.a.write(Uint8Array.of(i));
      l.b.write(Uint8Array.of(0x80 | i));
      sim.runFor(ms(1));
    }
    sim.runFor(ms(1));
    expect(atB.bytes()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(atA.bytes()).toEqual([0x80, 0x81, 0x84, 0x85]);
    expect(l.b.counters.faultDrops).toBe(2);
    expect(l.a.counters.faultDrops).toBe(0);
  });
});

describe('UART noise bursts', () => {
  it('delivers a burst on an idle line as received bytes, in time order with the traffic', () => {
    const sim = new Sim(1);
    const l = link(sim);
    const bt = byteTimeNs(l.format);
    const rx = collect(l.b);
    l.a.write(Uint8Array.of(1, 2));
    l.noise('a→b', ms(1), Uint8Array.of(0xee, 0xef));
    sim.runFor(ms(2));
    l.a.write(Uint8Array.of(3));
    sim.runFor(ms(1));
    expect(rx.chunks).toEqual([
      { bytes: [1, 2], at: Math.round(2 * bt) },
      { bytes: [0xee, 0xef], at: ms(1) + Math.round(2 * bt) },
      { bytes: [3], at: ms(2) + Math.round(bt) },
    ]);
    expect(l.counters('a→b').noiseBytes).toBe(2);
    expect(l.b.counters.garbled).toBe(0);
  });

  it('garbles the characters a burst overlaps and loses the burst when the data started first', () => {
    const sim = new Sim(1);
    const l = link(sim);
    const bt = byteTimeNs(l.format);
    const rx = collect(l.b);
    const data = pattern(10);
    l.a.write(data);
    l.noise('a→b', Math.round(2.5 * bt), 3); // over characters 2…5
    sim.runFor(ms(5));
    const got = rx.bytes();
    expect(got).toHaveLength(10);
    for (let i = 0; i < 10; i++) {
      if (i >= 2 && i <= 5) expect(got[i]).not.toBe(data[i]);
      else expect(got[i]).toBe(data[i]);
    }
    expect(l.b.counters.garbled).toBe(4);
    expect(l.b.counters.dropped).toBe(0);
    expect(l.counters('a→b')).toMatchObject({ absorbed: 3, garbled: 4, noiseBytes: 3 });
  });

  it('loses the data characters that start inside a burst that started first', () => {
    const sim = new Sim(1);
    const l = link(sim);
    const bt = byteTimeNs(l.format);
    const rx = collect(l.b);
    const data = pattern(10);
    l.noise('a→b', 0, Uint8Array.of(0x11, 0x22, 0x33));
    sim.runFor(Math.round(0.5 * bt));
    l.a.write(data); // characters 0…2 start inside the burst's characters
    sim.runFor(ms(5));
    const got = rx.bytes();
    expect(got).toHaveLength(10);
    expect(got.slice(3)).toEqual([...data.subarray(3)]);
    expect(got.slice(0, 3)).not.toEqual([0x11, 0x22, 0x33]);
    expect(l.b.counters.dropped).toBe(3);
    expect(l.b.counters.garbled).toBe(3);
  });

  it('leaves the other direction alone', () => {
    const sim = new Sim(1);
    const l = link(sim);
    const atA = collect(l.a);
    const data = pattern(50);
    l.b.write(data);
    l.noise('a→b', 0, 50);
    sim.runFor(ms(10));
    expect(atA.bytes()).toEqual([...data]);
    expect(l.a.counters.garbled).toBe(0);
  });

  it('refuses a burst in the past', () => {
    const sim = new Sim(1);
    const l = link(sim);
    sim.runFor(ms(1));
    expect(() => l.noise('b→a', ms(0.5), 3)).toThrow(RangeError);
  });
});

describe('UART determinism', () => {
  const scenario = (seed: number, impaired: boolean) => {
    const sim = new Sim(seed);
    const l = link(sim, {
      ...(impaired
        ? { bitErrorRate: 1e-4, byteDropRate: 1e-3, faults: [{ drop: 0.05, corrupt: 0.05, duplicate: 0.05 }] }
        : {}),
      b: { name: 'mcu', rxFifoBytes: 8, isBusy: (t) => (t >= ms(20) && t < ms(25) ? ms(25) : null) },
    });
    const got: number[] = [];
    l.b.onReceive((b) => got.push(...b));
    l.a.onReceive((b) => got.push(...b));
    for (let i = 0; i < 50; i++) {
      l.a.write(pattern(64, i));
      l.b.write(pattern(16, i));
      if (impaired) l.noise('a→b', sim.now + ms(0.3), 4);
      sim.runFor(ms(2));
    }
    sim.runFor(ms(50));
    return { digest: sim.trace.digest(), got };
  };

  it('gives the same trace and bytes for the same seed', () => {
    const a = scenario(42, true);
    const b = scenario(42, true);
    expect(b.digest).toBe(a.digest);
    expect(b.got).toEqual(a.got);
  });

  it('gives different traces for different seeds when random impairments are on', () => {
    expect(scenario(1, true).digest).not.toBe(scenario(2, true).digest);
  });

  it('does not depend on the seed when nothing random is configured', () => {
    expect(scenario(1, false).digest).toBe(scenario(2, false).digest);
  });
});
