import type { CanFrame } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { ms, Sim } from '../src/kernel/sim.js';
import { CanBus, type CanBusActivity } from '../src/links/can-bus.js';
import { canFrameBits, canFrameDurationNs, classicUnstuffedBits } from '../src/links/can-timing.js';
import type { CanPort } from '../src/links/endpoints.js';

const BIT_500K = 2000; // ns

function classic(id: number, data: number[] | Uint8Array, extended = false): CanFrame {
  return { id, extended, fd: false, data: Uint8Array.from(data) };
}

function received(port: CanPort): { frame: CanFrame; at: number }[] {
  const got: { frame: CanFrame; at: number }[] = [];
  port.onFrame((frame, at) => got.push({ frame, at }));
  return got;
}

function setup(options: { dataBitrate?: number } = {}) {
  const sim = new Sim(1);
  const bus = new CanBus(sim, { name: 'can0', nominalBitrate: 500_000, ...options });
  const activity: CanBusActivity[] = [];
  bus.monitor((a) => activity.push(a));
  return { sim, bus, activity };
}

describe('CanBus arbitration and mailboxes', () => {
  it('sends frames queued at the same instant lowest id first; a base id beats the extended one with its base', () => {
    const { sim, bus, activity } = setup();
    const a = bus.attach('a');
    const b = bus.attach('b');
    const c = bus.attach('c');
    const d = bus.attach('d');
    const fa = classic(0x200, [1]);
    const fb = classic((0x100 << 18) | 0x00055, [2], true);
    const fc = classic(0x100, [3]);
    const atD = received(d);
    const atA = received(a);
    a.transmit(fa);
    b.transmit(fb);
    c.transmit(fc);
    sim.runFor(ms(2));

    expect(activity.map((x) => x.sender)).toEqual(['c', 'b', 'a']);
    // Back to back: each frame starts when the previous one's intermission ends.
    const durations = [fc, fb, fa].map((f) => canFrameDurationNs(f, bus.rates));
    expect(activity.map((x) => x.startNs)).toEqual([0, durations[0], durations[0]! + durations[1]!]);
    expect(activity.map((x) => x.endNs - x.startNs)).toEqual(durations);
    // Receivers get each frame at its end of EOF, 3 intermission bits before the bus is free.
    expect(atD.map((r) => r.frame.id)).toEqual([0x100, fb.id, 0x200]);
    expect(atD.map((r) => r.at)).toEqual(activity.map((x) => x.endNs - 3 * BIT_500K));
    expect(atD[1]!.frame).toEqual(fb);
    // A node never receives its own frame.
    expect(atA.map((r) => r.frame.id)).toEqual([0x100, fb.id]);
    expect([
      bus.stats('a').arbitrationLost,
      bus.stats('b').arbitrationLost,
      bus.stats('c').arbitrationLost,
    ]).toEqual([2, 1, 0]);
    expect(bus.stats('d')).toMatchObject({
      framesReceived: 3,
      framesSent: 0,
      tec: 0,
      rec: 0,
      state: 'error_active',
    });
  });

  it('empties one node’s mailboxes by priority, FIFO among equal ids, and reports each completion at end of EOF', () => {
    const { sim, bus, activity } = setup();
    const a = bus.attach('a');
    bus.attach('b');
    const done: { id: number; first: number; at: number }[] = [];
    a.onTxComplete((f, at) => done.push({ id: f.id, first: f.data[0]!, at }));
    a.transmit(classic(0x300, [0]));
    a.transmit(classic(0x100, [1]));
    a.transmit(classic(0x200, [2]));
    a.transmit(classic(0x100, [3]));
    expect(a.txPending).toBe(4);
    sim.runFor(ms(2));
    expect(done.map((x) => [x.id, x.first])).toEqual([
      [0x100, 1],
      [0x100, 3],
      [0x200, 2],
      [0x300, 0],
    ]);
    expect(done.map((x) => x.at)).toEqual(activity.map((x) => x.endNs - 3 * BIT_500K));
    expect(a.txPending).toBe(0);
    expect(bus.stats('a').framesSent).toBe(4);
  });

  it('lets a frame queued during a transmission compete at the next idle bus, ahead of lower priority ones', () => {
    const { sim, bus, activity } = setup();
    const a = bus.attach('a');
    const b = bus.attach('b');
    for (let i = 0; i < 3; i++) a.transmit(classic(0x300 + i, [i]));
    // b answers the first frame at once (like an ISO-TP flow control), with a higher priority id.
    let answered = false;
    b.onFrame(() => {
      if (answered) return;
      answered = true;
      b.transmit(classic(0x050, [0x30, 0, 0]));
    });
    sim.runFor(ms(2));
    expect(activity.map((x) => x.frame.id)).toEqual([0x300, 0x050, 0x301, 0x302]);
    expect(activity[1]!.startNs).toBe(activity[0]!.endNs);
  });

  it('keeps the caller’s buffer out of the simulation (frames are copied)', () => {
    const { sim, bus } = setup();
    const a = bus.attach('a');
    const got = received(bus.attach('b'));
    const data = Uint8Array.of(1, 2, 3);
    a.transmit(classic(0x10, data));
    data[0] = 99;
    sim.runFor(ms(1));
    expect([...got[0]!.frame.data]).toEqual([1, 2, 3]);
  });

  it('refuses frames the controller cannot send and duplicate node names', () => {
    const { bus } = setup();
    const classicOnly = bus.attach('old', { fd: false });
    expect(() =>
      classicOnly.transmit({ id: 1, extended: false, fd: true, data: new Uint8Array(12) }),
    ).toThrow(/classic CAN controller/);
    expect(() => classicOnly.transmit(classic(0x800, []))).toThrow(RangeError);
    expect(() => bus.attach('old')).toThrow(/already attached/);
    expect(() => new CanBus(new Sim(1), { name: 'x', nominalBitrate: 0 })).toThrow(RangeError);
  });
});

describe('CanBus throughput', () => {
  it('carries a 4095-byte ISO-TP transfer over classic CAN back to back, exactly at the computed frame durations', () => {
    const { sim, bus, activity } = setup();
    const host = bus.attach('host');
    const mcu = bus.attach('mcu');
    const got = received(mcu);
    // First frame (6 bytes of payload) + 585 consecutive frames (7 bytes each) = 586 frames of 8 bytes.
    const rng = sim.rng('payload');
    const frames = Array.from({ length: 586 }, () =>
      classic(
        0x18da01f1,
        Uint8Array.from({ length: 8 }, () => rng.int(256)),
        true,
      ),
    );
    let lastDone = 0;
    host.onTxComplete((_, at) => {
      lastDone = at;
    });
    for (const f of frames) host.transmit(f);
    sim.runFor(ms(1000));

    const total = frames.reduce((sum, f) => sum + canFrameDurationNs(f, bus.rates), 0);
    expect(lastDone).toBe(total - 3 * BIT_500K);
    expect(bus.totals).toEqual({ framesOk: 586, errorFrames: 0, busyNs: total });
    expect(activity.every((x, i) => i === 0 || x.startNs === activity[i - 1]!.endNs)).toBe(true);
    expect(got.map((r) => r.frame)).toEqual(frames);
    // Stuffing costs something, but stays between none and the worst case.
    const unstuffed = 586 * classicUnstuffedBits(8, true) * BIT_500K;
    expect(total).toBeGreaterThan(unstuffed);
    expect(total).toBeLessThan(unstuffed * 1.2);
  });

  it('carries a 4095-byte ISO-TP transfer over CAN FD (64-byte frames, BRS 500k/2M) at the computed durations', () => {
    const { sim, bus } = setup({ dataBitrate: 2_000_000 });
    const host = bus.attach('host');
    const mcu = bus.attach('mcu');
    const got = received(mcu);
    // First frame carries 62 bytes, consecutive frames 63: 1 + 65 frames.
    const rng = sim.rng('payload');
    const frames: CanFrame[] = Array.from({ length: 66 }, () => ({
      id: 0x18da01f1,
      extended: true,
      fd: true,
      brs: true,
      data: Uint8Array.from({ length: 64 }, () => rng.int(256)),
    }));
    let lastDone = 0;
    host.onTxComplete((_, at) => {
      lastDone = at;
    });
    for (const f of frames) host.transmit(f);
    sim.runFor(ms(100));
    const total = frames.reduce((sum, f) => sum + canFrameDurationNs(f, bus.rates), 0);
    expect(lastDone).toBe(total - 3 * BIT_500K);
    expect(got).toHaveLength(66);
    // The data phase dominates: far less time than the same bits at the nominal rate.
    const allNominal = frames.reduce((sum, f) => sum + canFrameBits(f).total * BIT_500K, 0);
    expect(total).toBeLessThan(allNominal * 0.4);
  });
});

describe('CanBus trace', () => {
  it('records transmissions, acknowledgements and receptions with hex ids and lengths', () => {
    const sim = new Sim(3, { traceKeep: 100 });
    const bus = new CanBus(sim, { name: 'can0', nominalBitrate: 500_000 });
    const a = bus.attach('a');
    bus.attach('b');
    bus.attach('c');
    a.transmit(classic(0x18da00f1, [1, 2, 3, 4, 5, 6, 7, 8], true));
    sim.runFor(ms(1));
    const records = sim.trace.tail().filter((r) => r.source === 'can0');
    const bits = canFrameBits(classic(0x18da00f1, [1, 2, 3, 4, 5, 6, 7, 8], true)).total;
    expect(records.map((r) => [r.event, r.detail])).toEqual([
      ['attach', 'a fd'],
      ['attach', 'b fd'],
      ['attach', 'c fd'],
      ['tx', `a id=0x18DA00F1x len=8 bits=${bits}`],
      ['ack', 'a id=0x18DA00F1x len=8'],
      ['rx', 'id=0x18DA00F1x len=8 from=a to=b,c'],
    ]);
    expect(records[4]!.t).toBe((bits - 3) * BIT_500K);
  });
});
