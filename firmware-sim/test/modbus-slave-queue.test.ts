import { modbus } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { fixedFrame } from '../src/carriage/carriage.js';
import { ModbusSlaveCarriage } from '../src/carriage/modbus-slave-carriage.js';
import { ms, Sim } from '../src/kernel/sim.js';
import { RtuLine } from '../src/links/rtu-line.js';
import { lineFormat } from '../src/links/uart-format.js';

/** A slave at address 7 and a master endpoint on a 115 200 baud 8E1 line; the master's polls return frames. */
function rig() {
  const sim = new Sim(1);
  const line = new RtuLine(sim, { name: 'rs485', format: lineFormat(115200, '8E1') });
  const master = line.attach('master');
  const slave = new ModbusSlaveCarriage('rs485', sim, line.attach('dev'), { slaveAddress: 7, baud: 115200 });
  const answers: (number | null)[] = [];
  const framer = new modbus.RtuFramer({ role: 'master', timing: modbus.rtuTiming(115200) });
  master.onReceive((bytes, atNs) => {
    for (const r of framer.push(bytes, atNs / 1000)) {
      const res = r.ok ? modbus.responseFromAdu(r.value) : null;
      if (res?.ok && res.value.kind === 'mcubus') answers.push(res.value.frame?.[0] ?? null);
    }
  });
  const poll = () => {
    const adu = modbus.encodeRequest({ address: 7, kind: 'mcubus', function: 0x41, frame: null });
    if (!adu.ok) throw new Error(adu.error.message);
    master.write(adu.value);
    sim.runFor(ms(20));
  };
  return { slave, poll, answers };
}

const frame = (tag: number, supersedes?: string) => ({
  ...fixedFrame(new Uint8Array(20).fill(tag), 3, 0),
  ...(supersedes ? { supersedes } : {}),
});

describe('Modbus slave queue: cumulative acks supersede (docs/protocol.md §8.7 "Bulk frames")', () => {
  it('replaces a waiting ack of the same session in place, and keeps everything else in order', () => {
    const r = rig();
    r.slave.send(frame(1)); // a log line
    r.slave.send(frame(2, 'update_ack:5'));
    r.slave.send(frame(3)); // a heartbeat
    r.slave.send(frame(4, 'update_ack:5')); // newer ack: takes the older one's place
    r.slave.send(frame(5, 'update_ack:6')); // another session's: queued on its own
    expect(r.slave.queued).toBe(4);
    for (let i = 0; i < 5; i++) r.poll();
    expect(r.answers).toEqual([1, 4, 3, 5, null]);
    expect(r.slave.counters()).toMatchObject({ tx_superseded: 1 });
    // Superseding is not an error of the line: heartbeats do not report it.
    expect(r.slave.errorCounts()).toEqual({ modbus: 0 });
  });
});
