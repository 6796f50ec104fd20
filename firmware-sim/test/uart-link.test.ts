import { describe, expect, it } from 'vitest';
import { ms, Sim } from '../src/kernel/sim.js';
import { byteTimeNs, type FrameSpec, lineFormat } from '../src/links/uart-format.js';
import { UartLink, type UartLinkOptions } from '../src/links/uart-link.js';
import { collect, pattern } from './support/line-capture.js';

function link(sim: Sim, extra: Partial<UartLinkOptions> = {}, spec: FrameSpec = '8N1', baud = 115200) {
  return new UartLink(sim, {
    name: 'u0',
    format: lineFormat(baud, spec),
    a: { name: 'host' },
    b: { name: 'mcu' },
    ...extra,
  });
}

describe('UART link timing', () => {
  it('carries 1000 bytes at 115200 8N1 in 86.8 ms end to end, first chunk long before the last', () => {
    const sim = new Sim(1);
    const l = link(sim);
    const rx = collect(l.b);
    const data = pattern(1000);
    l.a.write(data);
    expect(l.a.txIdleAt).toBe(86_805_556);
    sim.runFor(ms(200));
    expect(rx.bytes()).toEqual([...data]);
    const last = rx.chunks.at(-1)!.at;
    expect(Math.abs(last - 86.8e6) / 86.8e6).toBeLessThan(0.01);
    expect(last).toBe(86_805_556);
    expect(rx.chunks[0]!.at).toBe(2_777_778); // 32 × 86 805.6 ns
    expect(l.b.counters.bytesReceived).toBe(1000);
    expect(l.a.counters.bytesSent).toBe(1000);
  });

  it.each([
    ['8E1', 9600, 11],
    ['7E2', 9600, 11],
    ['7N1', 9600, 9],
    ['8O2', 19200, 12],
  ] as const)('times %s at %i baud as %i-bit characters', (spec, baud, bits) => {
    const sim = new Sim(1);
    const l = link(sim, {}, spec, baud);
    const rx = collect(l.b);
    l.a.write(pattern(100));
    sim.runFor(ms(2000));
    const expected = (100 * bits * 1e9) / baud;
    expect(l.byteTimeNs).toBeCloseTo((bits * 1e9) / baud, 6);
    expect(rx.chunks.at(-1)!.at).toBe(Math.round(expected));
    expect(rx.bytes()).toHaveLength(100);
  });

  it('sends only 7 bits on a 7-bit line', () => {
    const sim = new Sim(1);
    const l = link(sim, {}, '7E1', 9600);
    const rx = collect(l.b);
    l.a.write(Uint8Array.of(0xff, 0x80, 0x41));
    sim.runFor(ms(100));
    expect(rx.bytes()).toEqual([0x7f, 0x00, 0x41]);
  });

  it('is full duplex: both directions at full rate at once', () => {
    const sim = new Sim(1);
    const l = link(sim);
    const atB = collect(l.b);
    const atA = collect(l.a);
    const fromA = pattern(1000, 1);
    const fromB = pattern(1000, 2);
    l.a.write(fromA);
    l.b.write(fromB);
    sim.runFor(ms(200));
    expect(atB.bytes()).toEqual([...fromA]);
    expect(atA.bytes()).toEqual([...fromB]);
    expect(atB.chunks.at(-1)!.at).toBe(86_805_556);
    expect(atA.chunks.at(-1)!.at).toBe(86_805_556);
  });

  it('queues writes back to back and delivers chunks of at most deliveryChunkBytes at their last stop bit', () => {
    const sim = new Sim(1);
    const l = link(sim, { deliveryChunkBytes: 8 });
    const bt = byteTimeNs(l.format);
    const rx = collect(l.b);
    l.a.write(pattern(10));
    l.a.write(pattern(10, 5)); // queued behind the first: no gap on the wire
    sim.runFor(ms(10));
    expect(rx.chunks.map((c) => c.bytes.length)).toEqual([8, 8, 4]);
    expect(rx.chunks[0]!.at).toBe(Math.round(8 * bt));
    expect(rx.chunks[1]!.at).toBe(Math.round(16 * bt)); // 8 + 6 × bt after the second write started
    expect(Math.abs(rx.chunks[2]!.at - 20 * bt)).toBeLessThanOrEqual(1);
    expect(rx.bytes()).toEqual([...pattern(10), ...pattern(10, 5)]);
  });

  it('hands over what it has when the line goes idle, and starts again after', () => {
    const sim = new Sim(1);
    const l = link(sim);
    const bt = byteTimeNs(l.format);
    const rx = collect(l.b);
    l.a.write(pattern(5));
    sim.runFor(ms(1));
    l.a.write(pattern(3));
    sim.runFor(ms(1));
    expect(rx.chunks).toEqual([
      { bytes: [...pattern(5)], at: Math.round(5 * bt) },
      { bytes: [...pattern(3)], at: ms(1) + Math.round(3 * bt) },
    ]);
  });

  it('starts a write made while another is on the wire when that one ends', () => {
    const sim = new Sim(1);
    const l = link(sim);
    const bt = byteTimeNs(l.format);
    const rx = collect(l.b);
    l.a.write(pattern(10));
    sim.runFor(Math.round(4.5 * bt));
    l.a.write(pattern(5));
    expect(l.a.txIdleAt).toBe(Math.round(10 * bt) + Math.round(5 * bt));
    sim.runFor(ms(5));
    expect(rx.chunks).toHaveLength(1);
    expect(rx.chunks[0]!.bytes).toHaveLength(15);
  });

  it('refuses two ends with one name and empty chunk sizes', () => {
    const sim = new Sim(1);
    expect(() => link(sim, { b: { name: 'host' } })).toThrow(RangeError);
    expect(() => link(sim, { deliveryChunkBytes: 0 })).toThrow(RangeError);
  });
});

describe('UART receive FIFO overflow', () => {
  it('loses exactly the bytes that arrive while the CPU is stalled and the FIFO is full', () => {
    const sim = new Sim(1);
    const stallEnd = ms(2);
    const l = link(sim, {
      b: { name: 'mcu', rxFifoBytes: 16, isBusy: (t) => (t < stallEnd ? stallEnd : null) },
    });
    const rx = collect(l.b);
    const lost: number[] = [];
    l.b.onOverrun((byte) => lost.push(byte));
    const data = pattern(100);
    l.a.write(data);
    sim.runFor(ms(20));
    // Bytes end every 86.8 µs: 23 of them end before 2 ms. 16 fit the FIFO, 7 are lost.
    expect(l.b.counters.overrun).toBe(7);
    expect(lost).toEqual([...data.subarray(16, 23)]);
    expect(rx.chunks[0]).toEqual({ bytes: [...data.subarray(0, 16)], at: stallEnd });
    expect(rx.bytes()).toEqual([...data.subarray(0, 16), ...data.subarray(23)]);
    expect(l.b.counters.bytesReceived).toBe(93);
  });

  it('holds what the driver read before the stall and never calls the listener during it', () => {
    const sim = new Sim(1);
    const from = ms(1);
    const to = ms(3);
    const l = link(sim, {
      b: { name: 'mcu', rxFifoBytes: 16, isBusy: (t) => (t >= from && t < to ? to : null) },
    });
    const rx = collect(l.b);
    const data = pattern(100);
    l.a.write(data);
    sim.runFor(ms(20));
    for (const c of rx.chunks) expect(c.at < from || c.at >= to).toBe(true);
    // 11 bytes end before 1 ms (read by the driver); 23 end inside [1 ms, 3 ms): 16 kept, 7 lost.
    expect(l.b.counters.overrun).toBe(7);
    expect(rx.chunks[0]).toEqual({ bytes: [...data.subarray(0, 27)], at: to });
    expect(rx.bytes()).toEqual([...data.subarray(0, 27), ...data.subarray(34)]);
  });

  it('defaults to a 1-byte FIFO and re-checks a stall that is extended', () => {
    const sim = new Sim(1);
    let busyUntil = ms(1);
    const l = link(sim, { b: { name: 'mcu', isBusy: (t) => (t < busyUntil ? busyUntil : null) } });
    const rx = collect(l.b);
    sim.scheduler.at(ms(0.5), () => {
      busyUntil = ms(1.5);
    });
    const data = pattern(20);
    l.a.write(data);
    sim.runFor(ms(10));
    // 17 bytes end before 1.5 ms: the first is kept, 16 lost; nothing is handed over before 1.5 ms.
    expect(l.b.counters.overrun).toBe(16);
    expect(rx.chunks[0]!.at).toBe(ms(1.5));
    expect(rx.bytes()).toEqual([data[0]!, ...data.subarray(17)]);
  });

  it('never overflows an end without isBusy (the host and its kernel buffer)', () => {
    const sim = new Sim(1);
    const l = link(sim, { a: { name: 'host', rxFifoBytes: 1 } });
    const rx = collect(l.a);
    l.b.write(pattern(5000));
    sim.runFor(ms(1000));
    expect(l.a.counters.overrun).toBe(0);
    expect(rx.bytes()).toHaveLength(5000);
  });
});
