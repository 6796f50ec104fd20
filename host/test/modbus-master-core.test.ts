import { modbus } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { ModbusTunnelMaster } from '../src/transports/modbus/master-core.js';

const timing = modbus.rtuTiming(19200);
const master = (slaves: number[]) =>
  new ModbusTunnelMaster({ slaves, timing, responseTimeoutUs: 50_000, idlePollUs: 50_000 });
const answer = (res: modbus.ModbusResponse) => {
  const r = modbus.encodeResponse(res);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('Modbus tunnel master rules (docs/protocol.md §8.7–8.8)', () => {
  it('stops tunnelling to a slave that answers exception 01, and fails frames for it at once', () => {
    const m = master([7, 9]);
    let out = m.handle({ type: 'tick' }, 0);
    expect(out.send).toHaveLength(1); // poll of slave 7
    out = m.handle({ type: 'bytes', bytes: answer(modbus.exceptionResponse(7, 0x41, 1)) }, 10_000);
    expect(out.emit).toContainEqual({ type: 'exception', slave: 7, code: 1 });
    // Later polls go to slave 9 only.
    const polled: number[] = [];
    let now = 10_000;
    for (let i = 0; i < 6; i++) {
      now = Math.max(now + 1, out.wakeAt ?? now + 1);
      out = m.handle({ type: 'tick' }, now);
      for (const adu of out.send) {
        polled.push(adu[0]!);
        now += 5000;
        out = m.handle(
          { type: 'bytes', bytes: answer({ address: adu[0]!, kind: 'mcubus', function: 0x41, frame: null }) },
          now,
        );
      }
    }
    expect(new Set(polled)).toEqual(new Set([9]));
    const failed = m.handle({ type: 'send', slave: 7, frame: new Uint8Array(20), handle: 5 }, now + 100_000);
    expect(failed.emit).toContainEqual(expect.objectContaining({ type: 'failed', handle: 5, slave: 7 }));
  });

  it('ignores an answer whose function code does not match the request, and times out instead', () => {
    const m = master([7]);
    m.handle({ type: 'tick' }, 0);
    const wrong = m.handle(
      {
        type: 'bytes',
        bytes: answer({ address: 7, kind: 'read_registers', function: 0x03, registers: [1] }),
      },
      5000,
    );
    expect(wrong.emit).toContainEqual(expect.objectContaining({ type: 'bad_input', code: 'wrong_function' }));
    const later = m.handle({ type: 'tick' }, wrong.wakeAt!);
    expect(later.emit).toContainEqual({ type: 'timeout', slave: 7 });
  });

  it('reports a frame too large for the tunnel as failed instead of dropping it silently', () => {
    const m = master([7]);
    const out = m.handle({ type: 'send', slave: 7, frame: new Uint8Array(300), handle: 1 }, 0);
    expect(out.emit).toContainEqual(expect.objectContaining({ type: 'failed', handle: 1 }));
  });
});

describe('register reads of a slave that is not polled', () => {
  it('a failed read does not make the master wake at a past instant forever', () => {
    const m = master([7]);
    let out = m.handle({ type: 'read', slave: 9, fn: 0x04, start: 0, quantity: 2, handle: 1 }, 0);
    out = m.handle({ type: 'tick' }, out.wakeAt!); // no answer: times out
    expect(out.emit).toContainEqual({ type: 'timeout', slave: 9 });
    let now = out.wakeAt!;
    // Every wake-up lies in the future of the one before: time always moves on.
    for (let i = 0; i < 20; i++) {
      out = m.handle({ type: 'tick' }, now);
      for (const adu of out.send) {
        out = m.handle(
          { type: 'bytes', bytes: answer({ address: adu[0]!, kind: 'mcubus', function: 0x41, frame: null }) },
          now + 5000,
        );
      }
      expect(out.wakeAt!).toBeGreaterThan(now);
      now = out.wakeAt!;
    }
  });
});

describe('bulk frames (docs/protocol.md §8.7 "Bulk frames")', () => {
  const frame = (n: number) => new Uint8Array(40).fill(n + 1);
  const bulkMaster = () =>
    new ModbusTunnelMaster({
      slaves: [7, 9],
      timing,
      responseTimeoutUs: 50_000,
      idlePollUs: 50_000,
      bulkPollEvery: 4,
    });

  /** Runs the master with `frames` queued at once; slaves answer empty. Returns (address, count byte) per ADU. */
  function drive(m: ModbusTunnelMaster, frames: { bulk: boolean }[]) {
    const sent: { address: number; count: number }[] = [];
    const delivered: number[] = [];
    let now = 1_000_000; // past every slave's first poll time
    let out = m.handle({ type: 'tick' }, now);
    frames.forEach((f, i) => {
      const o = m.handle({ type: 'send', slave: 7, frame: frame(i), handle: i, bulk: f.bulk }, now);
      out = { ...o, send: [...out.send, ...o.send], emit: [...out.emit, ...o.emit] };
    });
    for (let step = 0; step < 40; step++) {
      for (const e of out.emit) if (e.type === 'delivered') delivered.push(e.handle);
      const next: typeof out.send = [];
      for (const adu of out.send) {
        sent.push({ address: adu[0]!, count: adu[2]! });
        if (adu[0] !== 0) {
          now += 20_000;
          const o = m.handle(
            {
              type: 'bytes',
              bytes: answer({ address: adu[0]!, kind: 'mcubus', function: 0x41, frame: null }),
            },
            now,
          );
          next.push(...o.send);
          for (const e of o.emit) if (e.type === 'delivered') delivered.push(e.handle);
          out = { ...o, send: [] };
        }
      }
      if (next.length > 0) {
        out = { ...out, send: next, emit: [] };
        continue;
      }
      if (out.wakeAt === undefined || sent.length > 30) break;
      now = Math.max(now + 1, out.wakeAt);
      out = m.handle({ type: 'tick' }, now);
    }
    return { sent, delivered };
  }

  it('broadcasts three in four bulk frames, addresses the fourth, and polls the device when they run out', () => {
    const { sent, delivered } = drive(
      bulkMaster(),
      Array.from({ length: 6 }, () => ({ bulk: true })),
    );
    const firstSix = sent.filter((s) => s.count === 40).map((s) => s.address);
    expect(firstSix).toEqual([0, 0, 0, 7, 0, 0]);
    // After the last broadcast the device is asked for its acknowledgement at once (an empty poll),
    // or right after slave 9's turn, which was due too.
    const afterLast = sent.slice(sent.findLastIndex((s) => s.count === 40) + 1);
    expect(afterLast.slice(0, 2)).toContainEqual({ address: 7, count: 0 });
    expect(delivered.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('never broadcasts a frame that is not bulk', () => {
    const { sent } = drive(
      bulkMaster(),
      Array.from({ length: 5 }, () => ({ bulk: false })),
    );
    expect(sent.filter((s) => s.count === 40).map((s) => s.address)).toEqual([7, 7, 7, 7, 7]);
  });
});
