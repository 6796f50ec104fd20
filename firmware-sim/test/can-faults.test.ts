import type { CanFrame } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { ms, Sim, us } from '../src/kernel/sim.js';
import { CanBus, type CanBusActivity } from '../src/links/can-bus.js';
import { canFrameBits, canFrameDurationNs } from '../src/links/can-timing.js';
import type { FaultRule } from '../src/links/faults.js';

const BIT = 2000; // ns at 500 kbit/s

function classic(id: number, data: number[]): CanFrame {
  return { id, extended: false, fd: false, data: Uint8Array.from(data) };
}

/** Node `a` sends `count` frames (id 0x100, data [i]) at t = 0; `b` and `c` listen. */
function run(faults: FaultRule[], count = 3, seed = 1) {
  const sim = new Sim(seed);
  const bus = new CanBus(sim, { name: 'can0', nominalBitrate: 500_000, faults });
  const activity: CanBusActivity[] = [];
  bus.monitor((x) => activity.push(x));
  const a = bus.attach('a');
  const b = bus.attach('b');
  const c = bus.attach('c');
  const atB: { n: number; at: number }[] = [];
  const atC: number[] = [];
  const done: { n: number; at: number }[] = [];
  b.onFrame((f, at) => atB.push({ n: f.data[0]!, at }));
  c.onFrame((f) => atC.push(f.data[0]!));
  a.onTxComplete((f, at) => done.push({ n: f.data[0]!, at }));
  const frames = Array.from({ length: count }, (_, i) => classic(0x100, [i]));
  for (const f of frames) a.transmit(f);
  sim.runFor(ms(1000));
  const eof = activity.filter((x) => x.outcome === 'ok').map((x) => x.endNs - 3 * BIT);
  const durations = frames.map((f) => canFrameDurationNs(f, bus.rates));
  return { sim, bus, activity, atB, atC, done, eof, durations };
}

describe('CAN faults', () => {
  it('drop: the frame occupies the bus and the sender sees success, but no receiver gets it', () => {
    const r = run([{ drop: 1, nth: 2 }]);
    expect(r.atB.map((x) => x.n)).toEqual([0, 2]);
    expect(r.atC).toEqual([0, 2]);
    expect(r.done.map((x) => x.n)).toEqual([0, 1, 2]);
    expect(r.activity.map((x) => [x.outcome, x.endNs - x.startNs])).toEqual(
      r.durations.map((d) => ['ok', d]),
    );
    expect(r.bus.stats('b')).toMatchObject({ framesReceived: 2, framesLost: 1, rec: 0 });
    expect(r.bus.stats('a')).toMatchObject({ framesSent: 3, tec: 0 });
  });

  it('duplicate: receivers get the frame twice, after a late error makes the sender retransmit it', () => {
    const r = run([{ duplicate: 1, nth: 1 }]);
    expect(r.atB.map((x) => x.n)).toEqual([0, 0, 1, 2]);
    expect(r.atC).toEqual([0, 0, 1, 2]);
    expect(r.done.map((x) => x.n)).toEqual([0, 1, 2]);
    // First attempt: the frame up to the end of EOF (intermission replaced by the error frame).
    const bits = canFrameBits(classic(0x100, [0])).total;
    expect(r.activity[0]).toMatchObject({ outcome: 'error', cause: 'late' });
    expect(r.activity[0]!.endNs).toBe((bits - 3 + 17) * BIT);
    expect(r.activity.slice(1).map((x) => x.outcome)).toEqual(['ok', 'ok', 'ok']);
    // 8 for the late error, −1 per success.
    expect(r.bus.stats('a')).toMatchObject({ tec: 5, txErrors: 1, framesSent: 3 });
  });

  it('delay: delivery comes later than end of frame, and holds back the frames behind it (FIFO)', () => {
    const r = run([{ delay: { probability: 1, minNs: ms(1), maxNs: ms(1) }, nth: 1 }]);
    expect(r.atB.map((x) => x.n)).toEqual([0, 1, 2]);
    expect(r.atB.map((x) => x.at)).toEqual([r.eof[0]! + ms(1), r.eof[0]! + ms(1), r.eof[0]! + ms(1)]);
    // The sender is not slowed down: its completions are at end of frame.
    expect(r.done.map((x) => x.at)).toEqual(r.eof);
  });

  it('corrupt: an error frame, TEC +8 / REC +1, then a successful retransmission', () => {
    const r = run([{ corrupt: 1, nth: 2 }]);
    expect(r.activity.map((x) => x.outcome)).toEqual(['ok', 'error', 'ok', 'ok']);
    expect(r.activity[1]!.cause).toBe('corrupt');
    expect(r.atB.map((x) => x.n)).toEqual([0, 1, 2]);
    expect(r.done.map((x) => x.n)).toEqual([0, 1, 2]);
    expect(r.bus.stats('a')).toMatchObject({ tec: 6, txErrors: 1 });
    expect(r.bus.stats('b')).toMatchObject({ rec: 0, rxErrors: 1 });
    // The error frame ends 17 bits after the bit following the corrupted one.
    const errorSpan = r.activity[1]!.endNs - r.activity[1]!.startNs;
    expect(errorSpan).toBeGreaterThanOrEqual((1 + 17) * BIT);
    expect(errorSpan).toBeLessThan(r.durations[1]! + 17 * BIT);
  });

  it('reorder: the next frame overtakes the held one', () => {
    const r = run([{ reorder: 1, nth: 1 }]);
    expect(r.atB.map((x) => x.n)).toEqual([1, 0, 2]);
    expect(r.atB[0]!.at).toBe(r.eof[1]);
    expect(r.atB[1]!.at).toBe(r.eof[1]);
    expect(r.done.map((x) => x.n)).toEqual([0, 1, 2]);
  });

  it('reorder: a held frame is released when the bus goes idle rather than kept forever', () => {
    const r = run([{ reorder: 1, nth: 1 }], 1);
    expect(r.atB.map((x) => x.n)).toEqual([0]);
    expect(r.atB[0]!.at).toBe(r.activity[0]!.endNs);
  });

  it('random corruption never loses, duplicates or reorders frames: retransmission repairs it', () => {
    const r = run([{ corrupt: 0.3 }], 50, 11);
    const errors = r.activity.filter((x) => x.outcome === 'error');
    expect(errors.length).toBeGreaterThan(5);
    expect(errors.every((x) => x.cause === 'corrupt')).toBe(true);
    expect(r.atB.map((x) => x.n)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(r.bus.stats('a').txErrors).toBe(errors.length);
    expect(r.bus.stats('b').rxErrors).toBe(errors.length);
  });

  it('applies a rule only to its sender and time window', () => {
    // Frames start at 0, ~110 µs and ~220 µs: only the first is inside the window; b sends nothing.
    const r = run([
      { drop: 1, sender: 'b' },
      { drop: 1, until: us(100) },
    ]);
    expect(r.activity.map((x) => x.startNs < us(100))).toEqual([true, false, false]);
    expect(r.atB.map((x) => x.n)).toEqual([1, 2]);
  });
});

describe('babbling node', () => {
  it('floods the bus with its id: lower ids still get through, higher ids starve until it stops', () => {
    const sim = new Sim(5);
    const bus = new CanBus(sim, { name: 'can0', nominalBitrate: 500_000 });
    const activity: CanBusActivity[] = [];
    bus.monitor((x) => activity.push(x));
    const x = bus.attach('x');
    const a = bus.attach('a');
    const b = bus.attach('b');
    const r = bus.attach('r');
    let babbleCompletions = 0;
    x.onTxComplete(() => babbleCompletions++);
    const got: number[] = [];
    r.onFrame((f) => got.push(f.id));
    bus.babble('x', { id: 0x100, fromNs: ms(1), untilNs: ms(5) });
    sim.scheduler.at(ms(2), () => {
      a.transmit(classic(0x050, [1])); // beats the babble id
      b.transmit(classic(0x200, [2])); // loses to it
    });
    sim.runFor(ms(10));

    const babble = activity.filter((y) => y.babble);
    const babbleTime = canFrameDurationNs(
      { id: 0x100, extended: false, fd: false, data: new Uint8Array(8) },
      bus.rates,
    );
    expect(babble[0]!.startNs).toBe(ms(1));
    const lastBabble = babble[babble.length - 1]!;
    expect(lastBabble.startNs).toBeLessThan(ms(5));
    expect(lastBabble.endNs).toBeGreaterThanOrEqual(ms(5));
    // The bus never idles from the first babble frame until the starved frame gets through.
    const aFrame = activity.find((y) => y.sender === 'a')!;
    const bFrame = activity.find((y) => y.sender === 'b')!;
    const busy = activity.filter((y) => y.startNs >= ms(1) && y.startNs <= bFrame.startNs);
    expect(busy.length).toBe(babble.length + 2);
    expect(busy.every((y, i) => i === 0 || y.startNs === busy[i - 1]!.endNs)).toBe(true);

    // a waits at most for the babble frame on the bus at 2 ms.
    expect(aFrame.startNs).toBeGreaterThan(ms(2));
    expect(aFrame.startNs).toBeLessThanOrEqual(ms(2) + babbleTime);
    // b starves until the babbling stops.
    expect(bFrame.startNs).toBe(lastBabble.endNs);
    expect(bus.stats('b').arbitrationLost).toBeGreaterThan(10);
    expect(got.filter((id) => id === 0x100)).toHaveLength(babble.length);
    expect(babbleCompletions).toBe(0);
  });
});
