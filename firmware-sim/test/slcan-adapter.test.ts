import type { CanFrame } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { ms, Sim } from '../src/kernel/sim.js';
import { CanBus } from '../src/links/can-bus.js';
import { SlcanAdapterSim } from '../src/process/slcan-adapter.js';

const ascii = (s: string) => new TextEncoder().encode(s);

function setup() {
  const sim = new Sim(1);
  const bus = new CanBus(sim, { name: 'can0', nominalBitrate: 500_000 });
  const node = bus.attach('node');
  const fromBus: CanFrame[] = [];
  node.onFrame((f) => fromBus.push(f));
  let toHost = '';
  const adapter = new SlcanAdapterSim(
    bus.attach('adapter'),
    (b) => (toHost += new TextDecoder().decode(b)),
    500_000,
  );
  return { sim, node, adapter, fromBus, out: () => toHost };
}

describe('simulated slcan adapter', () => {
  it('opens only after the bus bit rate is set, and refuses a rate the bus does not run at', () => {
    const s = setup();
    s.adapter.push(ascii('O\rS4\rS6\rO\r'));
    expect(s.out()).toBe('\x07\x07\r\r');
    expect(s.adapter.isOpen).toBe(true);
  });

  it('puts host frames on the bus and forwards bus frames to the host while open', () => {
    const s = setup();
    s.adapter.push(ascii('t1232DEAD\r')); // closed: refused
    s.adapter.push(ascii('S6\rO\rT18DA2100101\r'));
    s.sim.runFor(ms(1));
    expect(s.fromBus).toEqual([{ id: 0x18da2100, extended: true, fd: false, data: Uint8Array.of(1) }]);
    s.node.transmit({ id: 0x18da0021, extended: true, fd: false, data: Uint8Array.of(0xab, 0xcd) });
    s.sim.runFor(ms(1));
    expect(s.out()).toBe('\x07\r\r\rT18DA00212ABCD\r');
    s.adapter.push(ascii('C\r'));
    s.node.transmit({ id: 0x18da0021, extended: true, fd: false, data: Uint8Array.of(1) });
    s.sim.runFor(ms(1));
    expect(s.out().endsWith('\r')).toBe(true);
    expect(s.adapter.counters).toMatchObject({ framesToBus: 1, framesToHost: 1, rejected: 1 });
  });
});
