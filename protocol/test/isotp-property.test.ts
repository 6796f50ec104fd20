import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CanFrame,
  decodePci,
  decodeStMin,
  encodeStMin,
  FD_DATA_LENGTHS,
  type FramePriority,
  type IsoTpConfig,
  IsoTpNode,
  isValidFdLength,
  VirtualCanBus,
} from '../src/isotp/index.js';

const FD_FRAME_SIZES = [8, 12, 16, 20, 24, 32, 48, 64];

const stMinUs = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 1, max: 9 }).map((n) => n * 100),
  fc.integer({ min: 1, max: 127 }).map((n) => n * 1000),
  fc.integer({ min: 0, max: 127_000 }),
);

const blockSize = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 255 }));

/** Two ends of one CAN hop: same bus type, independent frame sizes, padding, BS and STmin. */
const pairConfig = fc.boolean().chain((fd) => {
  const side = fc.record({
    frameSize: fd ? fc.constantFrom(...FD_FRAME_SIZES) : fc.constant(8),
    padding: fc.option(fc.integer({ min: 0, max: 255 }), { nil: null }),
    blockSize,
    stMinUs,
  });
  return fc.record({
    fd: fc.constant(fd),
    sender: side,
    receiver: side,
    addresses: fc.uniqueArray(fc.integer({ min: 0, max: 0xfe }), { minLength: 2, maxLength: 2 }),
    priority: fc.constantFrom<FramePriority>(0, 1, 2, 3),
  });
});

type Pair = typeof pairConfig extends fc.Arbitrary<infer T> ? T : never;

function checkFrameShape(frame: CanFrame, fd: boolean, padding: number | null, frameSize: number): void {
  expect(frame.extended).toBe(true);
  expect(frame.fd).toBe(fd);
  expect(frame.data.length).toBeLessThanOrEqual(frameSize);
  if (fd) expect(isValidFdLength(frame.data.length)).toBe(true);
  else if (padding !== null) expect(frame.data.length).toBe(8);
}

/** Sends `payload` from one node to the other over a virtual bus and checks everything about it. */
function roundTrip(pair: Pair, payload: Uint8Array): void {
  const [from, to] = pair.addresses as [number, number];
  const sender = new IsoTpNode({ address: from, fd: pair.fd, ...pair.sender });
  const receiver = new IsoTpNode({ address: to, fd: pair.fd, ...pair.receiver });
  const bus = new VirtualCanBus([sender, receiver]);
  bus.input(sender, { type: 'transmit', handle: 42, to, payload, priority: pair.priority });
  bus.run();

  expect(bus.events.map((e) => [e.node, e.event])).toEqual([
    [from, { type: 'transmitted', handle: 42, to }],
    [to, { type: 'received', from, priority: pair.priority, payload, functional: false }],
  ]);
  expect(sender.counters.total() + receiver.counters.total()).toBe(0);
  expect(sender.pending()).toEqual({ transmitting: 0, queued: 0, receiving: 0 });
  expect(receiver.pending()).toEqual({ transmitting: 0, queued: 0, receiving: 0 });
  expect(sender.nextWake()).toBeUndefined();
  expect(receiver.nextWake()).toBeUndefined();

  // Consecutive frames of one block are exactly STmin apart (the virtual clock ticks on time), and
  // no block is longer than the receiver's BS.
  const stMin = decodeStMin(encodeStMin(pair.receiver.stMinUs));
  let lastCfAt: number | undefined;
  let inBlock = 0;
  for (const { at, sender: who, frame } of bus.trace) {
    const config = who === from ? pair.sender : pair.receiver;
    checkFrameShape(frame, pair.fd, config.padding, who === from ? config.frameSize : 64);
    const pci = decodePci(frame.data, frame.fd);
    expect(pci.ok).toBe(true);
    if (!pci.ok) return;
    if (pci.value.type === 'consecutive') {
      if (lastCfAt !== undefined) expect(at - lastCfAt).toBe(stMin);
      lastCfAt = at;
      inBlock += 1;
      if (pair.receiver.blockSize > 0) expect(inBlock).toBeLessThanOrEqual(pair.receiver.blockSize);
    } else if (pci.value.type === 'flow') {
      lastCfAt = undefined;
      inBlock = 0;
    }
  }
}

describe('ISO-TP round trip properties', () => {
  it('delivers any payload up to ~300 bytes intact, whatever fd / BS / STmin / padding', () => {
    fc.assert(
      fc.property(pairConfig, fc.uint8Array({ minLength: 1, maxLength: 300 }), (pair, payload) => {
        roundTrip(pair, payload);
      }),
      { numRuns: 10_000 },
    );
  });

  it('delivers payloads up to 5000 bytes intact (12-bit and escaped first frames)', () => {
    fc.assert(
      fc.property(pairConfig, fc.uint8Array({ minLength: 1, maxLength: 5000 }), (pair, payload) => {
        roundTrip(pair, payload);
      }),
      { numRuns: 300 },
    );
  });

  it('delivers exactly at the boundary lengths', () => {
    const lengths = [1, 7, 8, 62, 63, 4095, 4096, 5000];
    for (const fd of [false, true]) {
      for (const length of lengths) {
        const payload = Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff);
        const side = { frameSize: fd ? 64 : 8, padding: 0xcc, blockSize: 0, stMinUs: 0 };
        roundTrip({ fd, sender: side, receiver: side, addresses: [0, 1], priority: 2 }, payload);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Robustness: arbitrary and mutated frames.

const NODE = 0x01;
const PEERS = [0x00, 0x02];

/** Mostly frames in our scheme aimed at the node from a couple of peers, so they reach its transfers. */
const canId = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record({
        prio: fc.oneof(fc.constant(6), fc.integer({ min: 0, max: 7 })),
        functional: fc.boolean(),
        source: fc.constantFrom(...PEERS, NODE, 0x33),
      })
      .map(({ prio, functional, source }) => ({
        id: (prio << 26) | ((functional ? 0xdb : 0xda) << 16) | ((functional ? 0xff : NODE) << 8) | source,
        extended: true,
      })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1fffffff }).map((id) => ({ id, extended: true })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x7ff }).map((id) => ({ id, extended: false })) },
);

const pciByte = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 15 }))
      .map(([t, n]) => (t << 4) | n),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

const anyFrame: fc.Arbitrary<CanFrame> = fc
  .record({ id: canId, fd: fc.boolean(), pci: pciByte, rest: fc.uint8Array({ maxLength: 63 }) })
  .chain(({ id, fd, pci, rest }) =>
    (fd ? fc.constantFrom(...FD_DATA_LENGTHS) : fc.integer({ min: 0, max: 9 })).map((length) => {
      const data = new Uint8Array(length);
      if (length > 0) data[0] = pci;
      if (length > 1) data.set(rest.subarray(0, length - 1), 1);
      return { id: id.id, extended: id.extended, fd, data };
    }),
  );

type Step =
  | { kind: 'frame'; dt: number; frame: CanFrame }
  | { kind: 'transmit'; dt: number; to: number; size: number; priority: FramePriority };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('frame' as const),
      dt: fc.integer({ min: 0, max: 300_000 }),
      frame: anyFrame,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('transmit' as const),
      dt: fc.integer({ min: 0, max: 300_000 }),
      to: fc.constantFrom(...PEERS, 0xff),
      size: fc.integer({ min: 0, max: 200 }),
      priority: fc.constantFrom<FramePriority>(0, 1, 2, 3),
    }),
  },
);

const nodeConfig: fc.Arbitrary<IsoTpConfig> = fc.record({
  address: fc.constant(NODE),
  fd: fc.boolean(),
  blockSize,
  stMinUs,
  maxMessageSize: fc.integer({ min: 1, max: 5000 }),
  timeouts: fc.record({
    nBsUs: fc.integer({ min: 1000, max: 2_000_000 }),
    // Above the largest STmin: a node refuses to advertise a gap it would not wait for itself.
    nCrUs: fc.integer({ min: 128_000, max: 2_000_000 }),
    maxWaitFrames: fc.integer({ min: 0, max: 20 }),
  }),
});

describe('ISO-TP robustness properties', () => {
  it('never throws on arbitrary frames and always settles by its timeouts', () => {
    fc.assert(
      fc.property(nodeConfig, fc.array(step, { maxLength: 60 }), (config, steps) => {
        const node = new IsoTpNode(config);
        let now = 0;
        const handles = new Set<number>();
        const outcomes: number[] = [];
        const record = (out: ReturnType<IsoTpNode['handle']>) => {
          for (const e of out.emit) {
            if (e.type === 'transmitted' || e.type === 'failed') outcomes.push(e.handle);
            if (e.type === 'received')
              expect(e.payload.length).toBeLessThanOrEqual(config.maxMessageSize ?? 65535);
          }
          if (out.wakeAt !== undefined) expect(out.wakeAt).toBeGreaterThan(now);
        };
        steps.forEach((s, i) => {
          now += s.dt;
          if (s.kind === 'frame') {
            record(node.handle({ type: 'frame', frame: s.frame }, now));
          } else {
            handles.add(i);
            const payload = new Uint8Array(s.size).fill(i);
            record(
              node.handle({ type: 'transmit', handle: i, to: s.to, payload, priority: s.priority }, now),
            );
          }
        });
        // No more input: only time passes. Every transfer must end by itself.
        for (let ticks = 0; ticks < 100_000; ticks++) {
          const wake = node.nextWake();
          if (wake === undefined) break;
          now = wake;
          record(node.handle({ type: 'tick' }, now));
        }
        expect(node.nextWake()).toBeUndefined();
        expect(node.pending()).toEqual({ transmitting: 0, queued: 0, receiving: 0 });
        // Every transmit got exactly one outcome.
        expect([...outcomes].sort((a, b) => a - b)).toEqual([...handles].sort((a, b) => a - b));
      }),
      { numRuns: 10_000 },
    );
  });

  it('survives dropped, duplicated and corrupted frames between two nodes', () => {
    const tamperPlan = fc.array(
      fc.oneof(
        fc.constant({ op: 'pass' as const }),
        fc.constant({ op: 'drop' as const }),
        fc.constant({ op: 'duplicate' as const }),
        fc.record({
          op: fc.constant('flip' as const),
          index: fc.nat(),
          mask: fc.integer({ min: 1, max: 255 }),
        }),
      ),
      { minLength: 1, maxLength: 80 },
    );
    fc.assert(
      fc.property(
        pairConfig,
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        tamperPlan,
        (pair, payload, plan) => {
          const [from, to] = pair.addresses as [number, number];
          const sender = new IsoTpNode({ address: from, fd: pair.fd, ...pair.sender });
          const receiver = new IsoTpNode({ address: to, fd: pair.fd, ...pair.receiver });
          let n = 0;
          const bus = new VirtualCanBus([sender, receiver], {
            tamper: (frame) => {
              const action = plan[n++ % plan.length]!;
              switch (action.op) {
                case 'pass':
                  return [frame];
                case 'drop':
                  return [];
                case 'duplicate':
                  return [frame, frame];
                case 'flip': {
                  if (frame.data.length === 0) return [frame];
                  const data = frame.data.slice();
                  const i = action.index % data.length;
                  data[i] = data[i]! ^ action.mask;
                  return [{ ...frame, data }];
                }
              }
            },
          });
          bus.input(sender, { type: 'transmit', handle: 1, to, payload, priority: pair.priority });
          bus.run();
          // A corrupted FC can look like a new message to the sender; only its transmit outcome counts here.
          const outcomes = bus.events
            .filter((e) => e.node === from && (e.event.type === 'transmitted' || e.event.type === 'failed'))
            .map((e) => e.event);
          expect(outcomes).toHaveLength(1);
          expect(outcomes[0]).toMatchObject({ handle: 1, to });
          expect(sender.pending()).toEqual({ transmitting: 0, queued: 0, receiving: 0 });
          expect(receiver.pending()).toEqual({ transmitting: 0, queued: 0, receiving: 0 });
          // Without tampering nothing is lost: with it, at most one message arrives, never a longer one.
          const got = bus.events.filter((e) => e.node === to && e.event.type === 'received');
          if (plan.every((a) => a.op === 'pass')) expect(got).toHaveLength(1);
          for (const e of got) {
            if (e.event.type === 'received')
              expect(e.event.payload.length).toBeLessThanOrEqual(payload.length + 255);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
