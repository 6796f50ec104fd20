import type { CanFrame } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { ms, Sim } from '../src/kernel/sim.js';
import { canWireFrame } from '../src/links/can-bitstream.js';
import { CanBus, type CanBusActivity } from '../src/links/can-bus.js';
import type { CanBusEvent, CanPort } from '../src/links/endpoints.js';

const BIT = 2000; // ns at 500 kbit/s

function classic(id: number, data: number[]): CanFrame {
  return { id, extended: false, fd: false, data: Uint8Array.from(data) };
}

function events(port: CanPort): CanBusEvent[] {
  const got: CanBusEvent[] = [];
  port.onBusEvent((e) => got.push(e));
  return got;
}

function states(list: readonly CanBusEvent[]): string[] {
  return list.flatMap((e) => (e.kind === 'state' ? [e.state] : []));
}

function setup(options: { autoRecover?: boolean; dataBitrate?: number } = {}) {
  const sim = new Sim(7);
  const bus = new CanBus(sim, { name: 'can0', nominalBitrate: 500_000, ...options });
  const activity: CanBusActivity[] = [];
  bus.monitor((a) => activity.push(a));
  return { sim, bus, activity };
}

describe('ACK errors', () => {
  it('keeps a lone node retransmitting: error passive at TEC 128, never bus off, nothing delivered', () => {
    const { sim, bus, activity } = setup();
    const a = bus.attach('a');
    const seen = events(a);
    let completed = 0;
    a.onTxComplete(() => completed++);
    const frame = classic(0x123, [0x5a]);
    a.transmit(frame);
    sim.runFor(ms(20));

    const { ackSlot } = canWireFrame(frame);
    expect(activity.length).toBeGreaterThan(100);
    expect(activity.every((x) => x.outcome === 'error' && x.cause === 'ack')).toBe(true);
    // The error flag starts on the ACK delimiter: ackSlot + 1 frame bits, then the 17-bit error frame.
    expect(activity[0]!.endNs - activity[0]!.startNs).toBe((ackSlot + 1 + 17) * BIT);
    // Error active for 16 attempts, then an error-passive transmitter suspends for 8 bits between attempts.
    expect(activity[15]!.startNs - activity[14]!.startNs).toBe((ackSlot + 1 + 17) * BIT);
    expect(activity[16]!.startNs - activity[15]!.startNs).toBe((ackSlot + 1 + 17 + 8) * BIT);
    expect(states(seen)).toEqual(['error_passive']);
    expect(seen.filter((e) => e.kind === 'error_frame')).toHaveLength(activity.length);
    // ISO exception: a passive transmitter's ACK error without a dominant bit does not count.
    expect(bus.stats('a')).toMatchObject({ state: 'error_passive', tec: 128, framesSent: 0, txPending: 1 });
    expect(completed).toBe(0);
  });

  it('delivers as soon as a second node is there to acknowledge, and returns to error active', () => {
    const { sim, bus } = setup();
    const a = bus.attach('a');
    const seen = events(a);
    const completed: number[] = [];
    a.onTxComplete((_, at) => completed.push(at));
    a.transmit(classic(0x123, [0x5a]));
    sim.runFor(ms(10));
    const b = bus.attach('b');
    const got: number[] = [];
    b.onFrame((f) => got.push(f.id));
    sim.runFor(ms(10));
    expect(got).toEqual([0x123]);
    expect(completed).toHaveLength(1);
    expect(bus.stats('a')).toMatchObject({ state: 'error_active', tec: 127, framesSent: 1, txPending: 0 });
    expect(states(seen)).toEqual(['error_passive', 'error_active']);
  });
});

describe('error frames, bus off and recovery', () => {
  it('counts TEC +8 / REC +1 per error, goes bus off after 32 errors and recovers after 128 × 11 recessive bits', () => {
    const { sim, bus, activity } = setup({ autoRecover: true });
    const a = bus.attach('a');
    const b = bus.attach('b');
    const seenA = events(a);
    const seenB = events(b);
    const got: number[] = [];
    b.onFrame((_, at) => got.push(at));
    for (let i = 0; i < 32; i++) bus.injectError({ sender: 'a', bit: 20 });
    a.transmit(classic(0x123, [1, 2, 3, 4]));
    sim.runFor(ms(20));

    // Error on bit 20, flag from bit 21: 21 + 17 = 38 bits per attempt; +8 suspend bits once passive.
    const errors = activity.filter((x) => x.outcome === 'error');
    expect(errors).toHaveLength(32);
    expect(errors.every((x) => x.cause === 'injected' && x.endNs - x.startNs === 38 * BIT)).toBe(true);
    expect(errors[16]!.startNs - errors[15]!.startNs).toBe(46 * BIT);
    // Bus off at the 32nd detection: 15 × 38 + 16 × 46 + 21 = 1327 bits; recovery 6 flag bits later
    // plus 128 × 11 idle bits: 2741 bits. The retransmission starts right then.
    const busOff = seenA.find((e) => e.kind === 'state' && e.state === 'bus_off')!;
    expect(busOff.atNs).toBe(1327 * BIT);
    const recovered = seenA.find((e) => e.kind === 'state' && e.state === 'error_active')!;
    expect(recovered.atNs).toBe(2741 * BIT);
    expect(states(seenA)).toEqual(['error_passive', 'bus_off', 'error_active']);
    const ok = activity.filter((x) => x.outcome === 'ok');
    expect(ok.map((x) => x.startNs)).toEqual([2741 * BIT]);
    expect(got).toHaveLength(1);

    // The receiver saw every error frame and counted them, but stayed error active.
    expect(seenB.filter((e) => e.kind === 'error_frame')).toHaveLength(32);
    expect(states(seenB)).toEqual([]);
    expect(bus.stats('a')).toMatchObject({
      state: 'error_active',
      tec: 0,
      txErrors: 32,
      busOffCount: 1,
      framesSent: 1,
    });
    expect(bus.stats('b')).toMatchObject({ rec: 31, rxErrors: 32, framesReceived: 1 });
  });

  it('stays bus off without auto recovery until software asks, then still waits 128 × 11 bits', () => {
    const { sim, bus } = setup();
    const a = bus.attach('a');
    bus.attach('b');
    const seen = events(a);
    for (let i = 0; i < 32; i++) bus.injectError({ sender: 'a' });
    a.transmit(classic(0x10, [1]));
    sim.runFor(ms(50));
    expect(bus.stats('a')).toMatchObject({ state: 'bus_off', txPending: 1 });
    const askedAt = sim.now;
    bus.requestRecovery('a');
    sim.runFor(ms(10));
    const recovered = seen.find((e) => e.kind === 'state' && e.state === 'error_active')!;
    expect(recovered.atNs).toBe(askedAt + 128 * 11 * BIT);
    expect(bus.stats('a')).toMatchObject({ state: 'error_active', txPending: 0, framesSent: 1 });
  });

  it('counts the 11-bit recessive tail of every frame on a busy bus towards recovery', () => {
    const { sim, bus, activity } = setup({ autoRecover: true });
    const a = bus.attach('a');
    const c = bus.attach('c');
    bus.attach('r'); // acknowledges c's frames while a is bus off
    const seen = events(a);
    for (let i = 0; i < 32; i++) bus.injectError({ sender: 'a' });
    a.transmit(classic(0x010, [0xaa]));
    for (let i = 0; i < 300; i++) c.transmit(classic(0x700, [i & 0xff]));
    sim.runFor(ms(200));

    const offAt = seen.find((e) => e.kind === 'state' && e.state === 'bus_off')!.atNs;
    const onAt = seen.find((e) => e.kind === 'state' && e.state === 'error_active')!.atNs;
    // The error frame's tail (delimiter + intermission) is the first sequence, then one per frame of c:
    // at the SOF after c's 127th frame a is back, wins arbitration with its lower id and sends.
    const cFramesBetween = activity.filter((x) => x.sender === 'c' && x.startNs > offAt && x.startNs < onAt);
    expect(cFramesBetween).toHaveLength(127);
    expect(cFramesBetween.every((x) => x.outcome === 'ok')).toBe(true);
    const aOk = activity.find((x) => x.sender === 'a' && x.outcome === 'ok')!;
    expect(aOk.startNs).toBe(onAt);
    expect(onAt - offAt).toBeLessThan(ms(200)); // long before c's traffic ends (300 frames)
    expect(activity.filter((x) => x.sender === 'c' && x.outcome === 'ok')).toHaveLength(300);
  });

  it('keeps integer ns times and still recovers when a bit is not a whole number of ns (83.333 kbit/s)', () => {
    const sim = new Sim(7);
    const bus = new CanBus(sim, { name: 'can0', nominalBitrate: 83_333, autoRecover: true });
    const activity: CanBusActivity[] = [];
    bus.monitor((x) => activity.push(x));
    const a = bus.attach('a');
    bus.attach('b');
    const seen = events(a);
    for (let i = 0; i < 32; i++) bus.injectError({ sender: 'a' });
    a.transmit(classic(0x10, [1]));
    sim.runFor(ms(200));
    expect(states(seen)).toEqual(['error_passive', 'bus_off', 'error_active']);
    expect(activity.at(-1)).toMatchObject({ outcome: 'ok', sender: 'a' });
    const times = [...activity.flatMap((x) => [x.startNs, x.endNs]), ...seen.map((e) => e.atNs)];
    expect(times.every(Number.isInteger)).toBe(true);
    const offAt = seen.find((e) => e.kind === 'state' && e.state === 'bus_off')!.atNs;
    const onAt = seen.find((e) => e.kind === 'state' && e.state === 'error_active')!.atNs;
    // 6 flag bits + 128 × 11 bits of 12 000.48 ns, rounded up to the ns.
    expect(onAt - offAt).toBe(Math.ceil((6 + 128 * 11) * (1e9 / 83_333)));
  });

  it('sends an injected error frame to every port, retransmits once and delivers exactly once', () => {
    const { sim, bus, activity } = setup();
    const a = bus.attach('a');
    const b = bus.attach('b');
    const c = bus.attach('c');
    const [ea, eb, ec] = [events(a), events(b), events(c)];
    const got: number[] = [];
    b.onFrame((f) => got.push(f.data[0]!));
    bus.injectError({ bit: 30 });
    a.transmit(classic(0x321, [7, 7]));
    sim.runFor(ms(2));
    for (const list of [ea, eb, ec]) {
      expect(list).toEqual([
        { kind: 'error_frame', atNs: 31 * BIT, detail: 'injected tx=a id=0x321 len=2 bit=31' },
      ]);
    }
    expect(activity.map((x) => x.outcome)).toEqual(['error', 'ok']);
    expect(activity[1]!.startNs).toBe((31 + 17) * BIT);
    expect(got).toEqual([7]);
    expect(bus.stats('a')).toMatchObject({ tec: 7, txErrors: 1 });
    expect(bus.stats('b')).toMatchObject({ rec: 0, rxErrors: 1 });
  });
});

describe('classic-only node and CAN FD frames', () => {
  it('destroys every FD frame with an error frame right after FDF, until the FD sender is bus off', () => {
    const { sim, bus, activity } = setup({ dataBitrate: 2_000_000 });
    const a = bus.attach('a');
    const old = bus.attach('old', { fd: false });
    const c = bus.attach('c');
    const atOld = events(old);
    const gotOld: number[] = [];
    const gotC: number[] = [];
    old.onFrame((f) => gotOld.push(f.id));
    c.onFrame((f) => gotC.push(f.id));
    const fdFrame: CanFrame = { id: 0x123, extended: false, fd: true, brs: true, data: new Uint8Array(12) };
    a.transmit(classic(0x100, [1])); // classic frames still pass
    a.transmit(fdFrame);
    sim.runFor(ms(50));

    expect(gotOld).toEqual([0x100]);
    expect(gotC).toEqual([0x100]);
    const errors = activity.filter((x) => x.outcome === 'error');
    expect(errors).toHaveLength(32);
    expect(errors.every((x) => x.cause === 'fd_format')).toBe(true);
    // FDF is bit 14 of this frame (no stuff bit before it); everything up to there is nominal rate.
    const { fdfBit } = canWireFrame(fdFrame);
    expect(fdfBit).toBe(14);
    expect(errors[0]!.endNs - errors[0]!.startNs).toBe((fdfBit + 1 + 17) * 2000);
    expect(bus.stats('old')).toMatchObject({ fdFramesRejected: 32, rxErrors: 32, state: 'error_active' });
    expect(bus.stats('c')).toMatchObject({ fdFramesRejected: 0, rxErrors: 32 });
    expect(bus.stats('a')).toMatchObject({ state: 'bus_off', txPending: 1, framesSent: 1 });
    expect(
      atOld
        .filter((e) => e.kind === 'error_frame')
        .every((e) => e.kind === 'error_frame' && /^fd_format/.test(e.detail)),
    ).toBe(true);
  });
});
