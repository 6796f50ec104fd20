import { describe, expect, it } from 'vitest';
import {
  type CanFrame,
  type IsoTpConfig,
  type IsoTpEmit,
  IsoTpNode,
  type IsoTpOutput,
  VirtualCanBus,
} from '../src/isotp/index.js';

const hex = (u: Uint8Array) => Buffer.from(u).toString('hex').toUpperCase();
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const seq = (n: number, from = 1) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/** Host (0) → node 1 at frame priority 2, and the reverse direction used by flow control. */
const TO_NODE = 0x18da0100;
const TO_HOST = 0x18da0001;

const frame = (id: number, data: string, fd = false): CanFrame => ({
  id,
  extended: true,
  fd,
  data: bytes(data),
});
const sent = (out: IsoTpOutput) => out.send.map((f) => `${f.id.toString(16).toUpperCase()} ${hex(f.data)}`);
const deliver = (node: IsoTpNode, f: CanFrame, now: number) => node.handle({ type: 'frame', frame: f }, now);
const transmit = (node: IsoTpNode, payload: Uint8Array, now = 0, to = 1, handle = 1) =>
  node.handle({ type: 'transmit', handle, to, payload, priority: 2 }, now);

function host(config: Partial<IsoTpConfig> = {}) {
  return new IsoTpNode({ address: 0, ...config });
}
function mcu(config: Partial<IsoTpConfig> = {}) {
  return new IsoTpNode({ address: 1, ...config });
}

describe('single frames', () => {
  it('sends a classic SF padded with 0xCC and reports it transmitted at once', () => {
    const out = transmit(host(), bytes('0A0B0C0D0E'));
    expect(sent(out)).toEqual(['18DA0100 050A0B0C0D0ECCCC']);
    expect(out.emit).toEqual([{ type: 'transmitted', handle: 1, to: 1 }]);
    expect(out.wakeAt).toBeUndefined();
  });

  it('sends unpadded classic frames when padding is null', () => {
    expect(sent(transmit(host({ padding: null }), bytes('0A0B')))).toEqual(['18DA0100 020A0B']);
  });

  it('sends the FD escape form padded to the next FD length', () => {
    const out = transmit(host({ fd: true }), seq(20));
    expect(out.send[0]?.fd).toBe(true);
    expect(sent(out)).toEqual([`18DA0100 0014${hex(seq(20))}CCCC`]);
  });

  it('delivers a SF upwards with sender and priority', () => {
    const out = deliver(mcu(), frame(TO_NODE, '030A0B0CCCCCCCCC'), 5);
    expect(out.emit).toEqual([
      { type: 'received', from: 0, priority: 2, payload: bytes('0A0B0C'), functional: false },
    ]);
    expect(out.send).toEqual([]);
  });

  it('uses the CAN id of the requested priority', () => {
    const node = host();
    const out = node.handle({ type: 'transmit', handle: 3, to: 0x2a, payload: seq(1), priority: 0 }, 0);
    expect(out.send[0]?.id).toBe(0x0cda2a00);
  });
});

describe('segmented transfer', () => {
  it('sends FF, waits for FC, then all CFs at once when STmin is 0', () => {
    const tx = host();
    const out1 = transmit(tx, seq(20), 100);
    expect(sent(out1)).toEqual(['18DA0100 1014010203040506']);
    expect(out1.wakeAt).toBe(100 + 1_000_000);
    expect(out1.emit).toEqual([]);
    const out2 = deliver(tx, frame(TO_HOST, '300000CCCCCCCCCC'), 200);
    expect(sent(out2)).toEqual(['18DA0100 210708090A0B0C0D', '18DA0100 220E0F1011121314']);
    expect(out2.emit).toEqual([{ type: 'transmitted', handle: 1, to: 1 }]);
    expect(out2.wakeAt).toBeUndefined();
  });

  it('reassembles and answers FF with FC(CTS) carrying our BS and STmin', () => {
    const rx = mcu({ blockSize: 4, stMinUs: 300 });
    const out1 = deliver(rx, frame(TO_NODE, '1014010203040506'), 0);
    expect(sent(out1)).toEqual(['18DA0001 3004F3CCCCCCCCCC']);
    expect(out1.wakeAt).toBe(1_000_000);
    expect(deliver(rx, frame(TO_NODE, '210708090A0B0C0D'), 10).send).toEqual([]);
    const out3 = deliver(rx, frame(TO_NODE, '220E0F1011121314'), 20);
    expect(out3.emit).toEqual([
      { type: 'received', from: 0, priority: 2, payload: seq(20), functional: false },
    ]);
    expect(out3.wakeAt).toBeUndefined();
    expect(rx.counters.total()).toBe(0);
  });

  it('sends a FC after every BS consecutive frames', () => {
    const a = host();
    const b = mcu({ blockSize: 2 });
    const link = new VirtualCanBus([a, b]);
    link.input(a, { type: 'transmit', handle: 9, to: 1, payload: seq(50), priority: 2 });
    link.run();
    // FF carries 6 bytes, then 44 bytes in 7 CFs: FC after FF, CF2, CF4 and CF6.
    const kinds = link.trace.map((t) =>
      t.sender === 0 ? hex(t.frame.data).slice(0, 2) : `FC${hex(t.frame.data).slice(0, 6)}`,
    );
    expect(kinds).toEqual([
      '10',
      'FC300200',
      '21',
      '22',
      'FC300200',
      '23',
      '24',
      'FC300200',
      '25',
      '26',
      'FC300200',
      '27',
    ]);
    expect(link.events.map((e) => e.event.type)).toEqual(['transmitted', 'received']);
    const received = link.events.find((e) => e.event.type === 'received')?.event;
    expect(received).toMatchObject({ payload: seq(50) });
  });

  it('wraps the sequence number from 15 to 0', () => {
    const a = host();
    const b = mcu();
    const bus = new VirtualCanBus([a, b]);
    bus.input(a, { type: 'transmit', handle: 1, to: 1, payload: seq(6 + 7 * 18), priority: 2 });
    bus.run();
    const sns = bus.trace.filter((t) => t.sender === 0).map((t) => hex(t.frame.data).slice(0, 2));
    expect(sns.slice(14, 19)).toEqual(['2E', '2F', '20', '21', '22']);
    expect(bus.events.at(-1)?.event).toMatchObject({ type: 'received', payload: seq(6 + 7 * 18) });
  });

  it('pads the last FD consecutive frame to the next FD length only', () => {
    const a = host({ fd: true });
    const b = mcu({ fd: true });
    const bus = new VirtualCanBus([a, b]);
    bus.input(a, { type: 'transmit', handle: 1, to: 1, payload: seq(62 + 63 + 10), priority: 2 });
    bus.run();
    expect(bus.trace.map((t) => t.frame.data.length)).toEqual([64, 8, 64, 12]);
    expect(hex(bus.trace[3]!.frame.data)).toBe(`22${hex(seq(10, 126))}CC`);
    expect(bus.events.at(-1)?.event).toMatchObject({ type: 'received', payload: seq(135) });
  });
});

describe('STmin pacing', () => {
  function paced(stMinRaw: string, stMinUs: number) {
    const tx = host();
    transmit(tx, seq(6 + 7 * 4), 0);
    const first = deliver(tx, frame(TO_HOST, `3000${stMinRaw}`), 1000);
    const wakes: (number | undefined)[] = [first.wakeAt];
    const frames = [...sent(first)];
    let now = first.wakeAt;
    while (now !== undefined) {
      const out = tx.handle({ type: 'tick' }, now);
      frames.push(...sent(out));
      wakes.push(out.wakeAt);
      now = out.wakeAt;
    }
    expect(frames.map((f) => f.slice(9, 11))).toEqual(['21', '22', '23', '24']);
    expect(wakes).toEqual([1000 + stMinUs, 1000 + 2 * stMinUs, 1000 + 3 * stMinUs, undefined]);
  }

  it('sends one CF per wake, STmin apart (milliseconds)', () => paced('05', 5000));
  it('sends one CF per wake, STmin apart (100 µs steps)', () => paced('F3', 300));
  it('treats a reserved STmin as 127 ms', () => paced('FA', 127_000));

  it('does nothing when ticked before the CF is due', () => {
    const tx = host();
    transmit(tx, seq(30), 0);
    deliver(tx, frame(TO_HOST, '300005'), 0);
    const early = tx.handle({ type: 'tick' }, 4999);
    expect(early.send).toEqual([]);
    expect(early.wakeAt).toBe(5000);
  });
});

describe('flow control WAIT and OVERFLOW', () => {
  it('keeps waiting after FC(wait), re-arming N_Bs, and sends on FC(CTS)', () => {
    const tx = host();
    transmit(tx, seq(20), 0);
    const wait = deliver(tx, frame(TO_HOST, '310000'), 400_000);
    expect(wait.send).toEqual([]);
    expect(wait.wakeAt).toBe(1_400_000);
    const cts = deliver(tx, frame(TO_HOST, '300000'), 1_200_000);
    expect(sent(cts)).toHaveLength(2);
    expect(cts.emit).toEqual([{ type: 'transmitted', handle: 1, to: 1 }]);
  });

  it('fails after more than maxWaitFrames FC(wait) in a row', () => {
    const tx = host({ timeouts: { maxWaitFrames: 2 } });
    transmit(tx, seq(20), 0);
    expect(deliver(tx, frame(TO_HOST, '310000'), 1).emit).toEqual([]);
    expect(deliver(tx, frame(TO_HOST, '310000'), 2).emit).toEqual([]);
    const third = deliver(tx, frame(TO_HOST, '310000'), 3);
    expect(third.emit).toMatchObject([{ type: 'failed', handle: 1, to: 1, error: { code: 'wait_limit' } }]);
    expect(tx.counters.get('wait_limit')).toBe(1);
    expect(tx.nextWake()).toBeUndefined();
  });

  it('answers a FF larger than maxMessageSize with FC(overflow); the sender fails', () => {
    const a = host();
    const b = mcu({ maxMessageSize: 100 });
    const bus = new VirtualCanBus([a, b]);
    bus.input(a, { type: 'transmit', handle: 4, to: 1, payload: seq(101), priority: 2 });
    bus.run();
    expect(bus.trace.map((t) => hex(t.frame.data))).toEqual(['1065010203040506', '320000CCCCCCCCCC']);
    expect(bus.events.map((e) => e.event)).toMatchObject([
      { type: 'rx_error', from: 0, error: { code: 'message_too_large' } },
      { type: 'failed', handle: 4, to: 1, error: { code: 'overflow' } },
    ]);
    expect(b.counters.get('message_too_large')).toBe(1);
    expect(a.counters.get('overflow')).toBe(1);
  });

  it('accepts a message of exactly maxMessageSize', () => {
    const a = host();
    const b = mcu({ maxMessageSize: 100 });
    const bus = new VirtualCanBus([a, b]);
    bus.input(a, { type: 'transmit', handle: 4, to: 1, payload: seq(100), priority: 2 });
    bus.run();
    expect(bus.events.map((e) => e.event.type)).toEqual(['transmitted', 'received']);
  });

  it('aborts the transmission on a reserved flow status', () => {
    const tx = host();
    transmit(tx, seq(20), 0);
    const out = deliver(tx, frame(TO_HOST, '350000'), 1);
    expect(out.emit).toMatchObject([{ type: 'failed', error: { code: 'reserved_flow_status' } }]);
    expect(out.wakeAt).toBeUndefined();
  });
});

describe('timeouts', () => {
  it('fails the sender with timeout_bs when no FC comes within N_Bs', () => {
    const tx = host({ timeouts: { nBsUs: 50_000 } });
    const out = transmit(tx, seq(20), 10);
    expect(out.wakeAt).toBe(50_010);
    expect(tx.handle({ type: 'tick' }, 50_009).emit).toEqual([]);
    const late = tx.handle({ type: 'tick' }, 50_010);
    expect(late.emit).toMatchObject([{ type: 'failed', handle: 1, to: 1, error: { code: 'timeout_bs' } }]);
    expect(tx.counters.get('timeout_bs')).toBe(1);
    expect(tx.pending()).toEqual({ transmitting: 0, queued: 0, receiving: 0 });
  });

  it('applies N_Bs again after each block', () => {
    const tx = host({ timeouts: { nBsUs: 50_000 } });
    transmit(tx, seq(40), 0);
    const block = deliver(tx, frame(TO_HOST, '300200'), 1000);
    expect(sent(block)).toHaveLength(2);
    expect(block.wakeAt).toBe(51_000);
    expect(tx.handle({ type: 'tick' }, 51_000).emit).toMatchObject([{ error: { code: 'timeout_bs' } }]);
  });

  it('rejects a FC arriving after N_Bs expired', () => {
    const tx = host({ timeouts: { nBsUs: 50_000 } });
    transmit(tx, seq(20), 0);
    const out = deliver(tx, frame(TO_HOST, '300000'), 60_000);
    expect(out.send).toEqual([]);
    expect(out.emit).toMatchObject([{ type: 'failed', error: { code: 'timeout_bs' } }]);
    expect(tx.counters.get('unexpected_fc')).toBe(1);
  });

  it('abandons a reception with timeout_cr when CFs stop', () => {
    const rx = mcu({ timeouts: { nCrUs: 30_000 } });
    deliver(rx, frame(TO_NODE, '1014010203040506'), 0);
    const cf = deliver(rx, frame(TO_NODE, '210708090A0B0C0D'), 10_000);
    expect(cf.wakeAt).toBe(40_000);
    expect(rx.handle({ type: 'tick' }, 39_999).emit).toEqual([]);
    const late = rx.handle({ type: 'tick' }, 40_000);
    expect(late.emit).toMatchObject([{ type: 'rx_error', from: 0, error: { code: 'timeout_cr' } }]);
    expect(late.wakeAt).toBeUndefined();
    expect(deliver(rx, frame(TO_NODE, '220E0F1011121314'), 40_001).emit).toEqual([]);
    expect(rx.counters.snapshot()).toEqual({ timeout_cr: 1, unexpected_cf: 1 });
  });
});

describe('receiver errors', () => {
  it('aborts on a wrong sequence number and ignores the rest of the message', () => {
    const rx = mcu();
    deliver(rx, frame(TO_NODE, '1020010203040506'), 0);
    expect(deliver(rx, frame(TO_NODE, '210708090A0B0C0D'), 1).emit).toEqual([]);
    const bad = deliver(rx, frame(TO_NODE, '230E0F1011121314'), 2);
    expect(bad.emit).toMatchObject([{ type: 'rx_error', from: 0, error: { code: 'wrong_sn' } }]);
    expect(bad.wakeAt).toBeUndefined();
    expect(deliver(rx, frame(TO_NODE, '2415161718191A1B'), 3).emit).toEqual([]);
    expect(rx.counters.snapshot()).toEqual({ unexpected_cf: 1, wrong_sn: 1 });
  });

  it('lets a new FF or SF from the same sender interrupt a reception', () => {
    const rx = mcu();
    deliver(rx, frame(TO_NODE, '1014010203040506'), 0);
    const ff = deliver(rx, frame(TO_NODE, '1010AAAAAAAAAAAA'), 1);
    expect(ff.emit).toMatchObject([{ type: 'rx_error', error: { code: 'interrupted' } }]);
    expect(sent(ff)).toEqual(['18DA0001 300000CCCCCCCCCC']);
    const sf = deliver(rx, frame(TO_NODE, '01BB'), 2);
    expect(sf.emit).toMatchObject([
      { type: 'rx_error', error: { code: 'interrupted' } },
      { type: 'received', payload: bytes('BB') },
    ]);
    expect(rx.counters.get('interrupted')).toBe(2);
  });

  it('counts and ignores unexpected CF and FC', () => {
    const node = mcu();
    expect(deliver(node, frame(TO_NODE, '2101020304050607'), 0)).toEqual({ send: [], emit: [] });
    expect(deliver(node, frame(TO_NODE, '300000'), 0)).toEqual({ send: [], emit: [] });
    expect(node.counters.snapshot()).toEqual({ unexpected_cf: 1, unexpected_fc: 1 });
  });

  it('counts and ignores a FC while consecutive frames are being paced', () => {
    const tx = host();
    transmit(tx, seq(30), 0);
    deliver(tx, frame(TO_HOST, '300005'), 0);
    const extra = deliver(tx, frame(TO_HOST, '300000'), 10);
    expect(extra.send).toEqual([]);
    expect(tx.counters.get('unexpected_fc')).toBe(1);
  });

  it('ignores a CF of the wrong length without losing the reception', () => {
    const rx = mcu();
    deliver(rx, frame(TO_NODE, '1014010203040506'), 0);
    expect(deliver(rx, frame(TO_NODE, '2107080910'), 1).emit).toEqual([]); // short, not the last CF
    expect(rx.counters.get('invalid_length')).toBe(1);
    deliver(rx, frame(TO_NODE, '210708090A0B0C0D'), 2);
    const last = deliver(rx, frame(TO_NODE, '220E0F1011121314'), 3);
    expect(last.emit).toMatchObject([{ type: 'received', payload: seq(20) }]);
  });

  it('counts frames that are not ours', () => {
    const node = mcu();
    deliver(node, frame(0x18da0200, '0101'), 0); // to node 2
    deliver(node, frame(0x18da0201, '0101'), 0); // from ourselves (echo)
    deliver(node, { id: 0x7e0, extended: false, fd: false, data: bytes('0101') }, 0);
    deliver(node, frame(0x18eaff00, '0101'), 0); // J1939 request PGN
    deliver(node, frame(TO_NODE, '0101', true), 0); // FD frame to a classic node
    deliver(node, frame(TO_NODE, '4000000000000000'), 0);
    expect(node.counters.snapshot()).toEqual({
      fd_disabled: 1,
      foreign_id: 1,
      invalid_pci: 1,
      not_for_us: 2,
      standard_id: 1,
    });
  });

  it('accepts classic frames on an FD node and answers in the format of the FF', () => {
    const rx = mcu({ fd: true });
    const out = deliver(rx, frame(TO_NODE, '1014010203040506'), 0);
    expect(out.send).toMatchObject([{ fd: false }]);
    expect(sent(out)).toEqual(['18DA0001 300000CCCCCCCCCC']);
  });
});

describe('concurrency', () => {
  it('receives interleaved transfers from two peers', () => {
    // The host asks for STmin 1 ms, so both senders pace their CFs and the bus interleaves them.
    const h = host({ stMinUs: 1000 });
    const p1 = new IsoTpNode({ address: 1 });
    const p2 = new IsoTpNode({ address: 2 });
    const paced = new VirtualCanBus([h, p1, p2]);
    paced.input(p1, { type: 'transmit', handle: 1, to: 0, payload: seq(40, 100), priority: 2 });
    paced.input(p2, { type: 'transmit', handle: 2, to: 0, payload: seq(40, 200), priority: 2 });
    paced.run();
    const order = paced.trace.filter((t) => t.sender !== 0).map((t) => t.sender);
    expect(order).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2]);
    const got = paced.events.filter((e) => e.node === 0).map((e) => e.event);
    expect(got).toEqual([
      { type: 'received', from: 1, priority: 2, payload: seq(40, 100), functional: false },
      { type: 'received', from: 2, priority: 2, payload: seq(40, 200), functional: false },
    ]);
    expect(h.counters.total()).toBe(0);
  });

  it('queues transmits on one CAN id and runs other priorities in parallel', () => {
    const tx = host();
    expect(sent(transmit(tx, seq(20), 0, 1, 1))).toEqual(['18DA0100 1014010203040506']);
    const second = transmit(tx, seq(3), 0, 1, 2);
    expect(second.send).toEqual([]);
    const urgent = tx.handle({ type: 'transmit', handle: 3, to: 1, payload: seq(3), priority: 0 }, 0);
    expect(sent(urgent)).toEqual(['CDA0100 03010203CCCCCCCC']);
    expect(tx.pending()).toEqual({ transmitting: 1, queued: 1, receiving: 0 });
    const done = deliver(tx, frame(TO_HOST, '300000'), 10);
    expect(sent(done)).toEqual([
      '18DA0100 210708090A0B0C0D',
      '18DA0100 220E0F1011121314',
      '18DA0100 03010203CCCCCCCC',
    ]);
    expect(done.emit).toEqual([
      { type: 'transmitted', handle: 1, to: 1 },
      { type: 'transmitted', handle: 2, to: 1 },
    ]);
  });

  it('sends to two peers in parallel and keeps their flow control apart', () => {
    const tx = host();
    transmit(tx, seq(20), 0, 1, 1);
    const other = transmit(tx, seq(20), 0, 2, 2);
    expect(sent(other)).toEqual(['18DA0200 1014010203040506']);
    const fc2 = deliver(tx, frame(0x18da0002, '300000'), 5);
    expect(fc2.emit).toEqual([{ type: 'transmitted', handle: 2, to: 2 }]);
    expect(tx.pending().transmitting).toBe(1);
  });

  it('runs a transfer in each direction between the same pair at once', () => {
    const a = host();
    const b = mcu();
    const bus = new VirtualCanBus([a, b]);
    bus.input(a, { type: 'transmit', handle: 1, to: 1, payload: seq(30), priority: 2 });
    bus.input(b, { type: 'transmit', handle: 2, to: 0, payload: seq(30, 50), priority: 2 });
    bus.run();
    const outcomes = bus.events.map((e) => [e.node, e.event.type]);
    expect(outcomes).toContainEqual([0, 'received']);
    expect(outcomes).toContainEqual([1, 'received']);
    expect(outcomes.filter(([, t]) => t === 'transmitted')).toHaveLength(2);
    expect(a.counters.total() + b.counters.total()).toBe(0);
  });
});

describe('functional addressing', () => {
  it('broadcasts a SF on the functional id to every node', () => {
    const h = host();
    const n1 = mcu();
    const n2 = new IsoTpNode({ address: 2 });
    const bus = new VirtualCanBus([h, n1, n2]);
    bus.input(h, {
      type: 'transmit',
      handle: 5,
      to: 0xff,
      payload: bytes('AABB'),
      priority: 2,
      functional: true,
    });
    bus.run();
    expect(bus.trace.map((t) => `${t.frame.id.toString(16)} ${hex(t.frame.data)}`)).toEqual([
      '18dbff00 02AABBCCCCCCCCCC',
    ]);
    const events: { node: number; event: IsoTpEmit }[] = bus.events.map(({ node, event }) => ({
      node,
      event,
    }));
    expect(events).toEqual([
      { node: 0, event: { type: 'transmitted', handle: 5, to: 0xff } },
      {
        node: 1,
        event: { type: 'received', from: 0, priority: 2, payload: bytes('AABB'), functional: true },
      },
      {
        node: 2,
        event: { type: 'received', from: 0, priority: 2, payload: bytes('AABB'), functional: true },
      },
    ]);
  });

  it('treats to = 0xFF as a broadcast', () => {
    expect(sent(transmit(host(), bytes('01'), 0, 0xff))).toEqual(['18DBFF00 0101CCCCCCCCCCCC']);
  });

  it('fails a broadcast that does not fit one single frame', () => {
    const out = host().handle({ type: 'transmit', handle: 6, to: 0xff, payload: seq(8), priority: 2 }, 0);
    expect(out.send).toEqual([]);
    expect(out.emit).toMatchObject([
      { type: 'failed', handle: 6, error: { code: 'too_large_for_functional' } },
    ]);
    const fd = host({ fd: true }).handle(
      { type: 'transmit', handle: 7, to: 0xff, payload: seq(62), priority: 2 },
      0,
    );
    expect(fd.emit).toEqual([{ type: 'transmitted', handle: 7, to: 0xff }]);
  });

  it('ignores FF, CF and FC on the functional id', () => {
    const node = mcu();
    expect(deliver(node, frame(0x18dbff00, '1014010203040506'), 0).send).toEqual([]);
    deliver(node, frame(0x18dbff00, '2101'), 0);
    deliver(node, frame(0x18dbff00, '300000'), 0);
    expect(node.counters.snapshot()).toEqual({ functional_not_single: 3 });
  });

  it('rejects a functional transmit to a single node', () => {
    const out = host().handle(
      { type: 'transmit', handle: 1, to: 3, payload: seq(1), priority: 2, functional: true },
      0,
    );
    expect(out.emit).toMatchObject([{ type: 'failed', error: { code: 'invalid_address' } }]);
  });
});

describe('transmit validation', () => {
  it('fails empty payloads, bad addresses and bad priorities without sending', () => {
    const node = host();
    const outs = [
      transmit(node, new Uint8Array(0)),
      transmit(node, seq(1), 0, 0),
      transmit(node, seq(1), 0, 256),
      node.handle({ type: 'transmit', handle: 1, to: 1, payload: seq(1), priority: 4 as 0 }, 0),
    ];
    expect(outs.flatMap((o) => o.send)).toEqual([]);
    expect(node.counters.snapshot()).toEqual({ empty_payload: 1, invalid_address: 2, invalid_priority: 1 });
  });

  it('rejects impossible configurations', () => {
    expect(() => new IsoTpNode({ address: 0xff })).toThrow(RangeError);
    expect(() => new IsoTpNode({ address: 1, frameSize: 64 })).toThrow(RangeError);
    expect(() => new IsoTpNode({ address: 1, fd: true, frameSize: 10 })).toThrow(RangeError);
    expect(() => new IsoTpNode({ address: 1, blockSize: 256 })).toThrow(RangeError);
    expect(() => new IsoTpNode({ address: 1, stMinUs: 200_000 })).toThrow(RangeError);
    expect(() => new IsoTpNode({ address: 1, stMinUs: 5000, timeouts: { nCrUs: 5000 } })).toThrow(RangeError);
    expect(new IsoTpNode({ address: 1, stMinUs: 250 }).config.stMinRaw).toBe(0xf3);
  });
});
