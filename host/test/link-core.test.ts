import {
  decodeFrame,
  ErrorCode,
  encodeFrame,
  type Frame,
  type FrameHeader,
  type Message,
} from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import {
  LinkCore,
  type LinkCoreConfig,
  type LinkEvent,
  type LinkInput,
  type OutgoingFrame,
} from '../src/link/core.js';

const DEV = 0x21;
const DEV2 = 0x22;
const GW = 0x10;
const BUS = 'uart0';

/** What the fake device does with one received request: answers (after a delay) or drops it. */
type Device = (req: Frame, out: OutgoingFrame) => { delayUs: number; bytes: Uint8Array }[];

function reply(req: Frame, message: Message, src = req.header.dst): Uint8Array {
  return encodeFrame({ dst: 0, src, seq: req.header.seq, response: true }, message);
}

function pong(req: Frame): Message {
  const nonce = req.message.type === 'ping' ? req.message.body.nonce : undefined;
  return { type: 'pong', body: nonce === undefined ? {} : { nonce } };
}

/** Answers every request after `delayUs`; `drop(attempt)` loses chosen attempts. */
function device(
  delayUs: number | ((out: OutgoingFrame) => number),
  drop: (attempt: number) => boolean = () => false,
): Device {
  return (req, out) => {
    if (drop(out.attempt)) return [];
    const d = typeof delayUs === 'number' ? delayUs : delayUs(out);
    return [{ delayUs: d, bytes: reply(req, pong(req)) }];
  };
}

/** A virtual clock driving the core: deliveries and core wake-ups in time order. */
class Sim {
  now = 0;
  readonly sent: { at: number; out: OutgoingFrame; frame: Frame }[] = [];
  readonly events: { at: number; ev: LinkEvent }[] = [];
  #queue: { at: number; bytes: Uint8Array }[] = [];
  #wakeAt: number | undefined;

  constructor(
    readonly core: LinkCore,
    public dev: Device,
  ) {}

  input(input: LinkInput): void {
    const out = this.core.handle(input, this.now);
    this.#wakeAt = out.wakeAt;
    for (const ev of out.emit) this.events.push({ at: this.now, ev });
    for (const s of out.send) {
      const frame = decodeFrame(s.bytes);
      if (!frame.ok) throw new Error(`core sent a bad frame: ${frame.error.message}`);
      this.sent.push({ at: this.now, out: s, frame: frame.value });
      for (const d of this.dev(frame.value, s)) this.deliver(this.now + d.delayUs, d.bytes);
    }
  }

  deliver(at: number, bytes: Uint8Array): void {
    this.#queue.push({ at, bytes });
    this.#queue.sort((a, b) => a.at - b.at);
  }

  /** Runs until nothing is queued and nothing is pending, or until `limitUs`. */
  run(limitUs = 120_000_000): void {
    for (;;) {
      const next = this.#queue[0];
      const wake = this.#wakeAt;
      if (next === undefined && wake === undefined) return;
      if (next !== undefined && (wake === undefined || next.at <= wake)) {
        if (next.at > limitUs) return;
        this.#queue.shift();
        this.now = Math.max(this.now, next.at);
        this.input({ type: 'frame', bytes: next.bytes, bus: BUS, rxUs: next.at });
      } else if (wake !== undefined) {
        if (wake > limitUs) return;
        this.now = Math.max(this.now, wake);
        this.input({ type: 'tick' });
      }
    }
  }

  emitted<T extends LinkEvent['type']>(type: T): Extract<LinkEvent, { type: T }>[] {
    return this.events.map((e) => e.ev).filter((e): e is Extract<LinkEvent, { type: T }> => e.type === type);
  }
}

function core(config: Partial<LinkCoreConfig> = {}): LinkCore {
  return new LinkCore({ random: () => 0.5, jitter: 0.1, ...config });
}

function ping(handle: number, extra: Partial<Extract<LinkInput, { type: 'request' }>> = {}): LinkInput {
  return { type: 'request', handle, dst: DEV, message: { type: 'ping', body: { nonce: handle } }, ...extra };
}

const JITTER = 1.05; // 1 + 0.1 · 0.5

describe('LinkCore: requests and answers', () => {
  it('completes a round trip, reports the RTT and takes an RTT sample', () => {
    const sim = new Sim(core(), device(3000));
    sim.input(ping(1));
    expect(sim.sent).toHaveLength(1);
    const first = sim.sent[0]!;
    expect(first.out).toMatchObject({ dst: DEV, attempt: 1, priority: 2, seq: 0 });
    expect(first.frame.header).toMatchObject({
      src: 0,
      dst: DEV,
      seq: 0,
      retransmit: false,
      response: false,
    });
    sim.run();
    const [answer] = sim.emitted('answer');
    expect(answer).toMatchObject({ handle: 1, dst: DEV, rttUs: 3000, attempts: 1, bus: BUS });
    expect(answer?.message).toMatchObject({ type: 'pong', body: { nonce: 1 } });
    expect(sim.core.rttStats(DEV)).toMatchObject({ srttUs: 3000, rttvarUs: 1500, samples: 1, rtoUs: 20_000 });
    expect(sim.core.nextWake()).toBeUndefined();
    expect(sim.core.counters().total).toMatchObject({ sent: 1, received: 1, answers: 1, requests: 1 });
    expect(sim.core.counters().byBus[BUS]).toMatchObject({ received: 1, answers: 1 });
    expect(sim.core.counters().byDst[String(DEV)]).toMatchObject({ sent: 1, answers: 1 });
  });

  it('retries a lost request with RETRANSMIT and the same seq; no RTT sample (Karn)', () => {
    const sim = new Sim(
      core(),
      device(2000, (attempt) => attempt === 1),
    );
    sim.input(ping(7));
    sim.run();
    expect(sim.sent.map((s) => s.at)).toEqual([0, 1_000_000 * JITTER]);
    const [a, b] = sim.sent;
    expect(a?.frame.header.retransmit).toBe(false);
    expect(b?.frame.header.retransmit).toBe(true);
    expect(b?.frame.header.seq).toBe(a?.frame.header.seq);
    expect(b?.out.attempt).toBe(2);
    expect(sim.emitted('answer')).toMatchObject([{ handle: 7, attempts: 2, rttUs: 2000 }]);
    expect(sim.core.rttStats(DEV).samples).toBe(0);
    expect(sim.core.rttStats(DEV).rtoUs).toBe(1_000_000);
    expect(sim.core.counters().total).toMatchObject({ sent: 2, retried: 1, answers: 1 });
  });

  it('times out after maxAttempts with exponential backoff and jitter', () => {
    const sim = new Sim(
      core(),
      device(0, () => true),
    );
    sim.input(ping(3));
    sim.run();
    const t = [1e6, 2e6, 4e6, 8e6].map((x) => x * JITTER);
    expect(sim.sent.map((s) => s.at)).toEqual([0, t[0], t[0]! + t[1]!, t[0]! + t[1]! + t[2]!]);
    expect(sim.sent.map((s) => s.out.attempt)).toEqual([1, 2, 3, 4]);
    expect(sim.sent.map((s) => s.frame.header.retransmit)).toEqual([false, true, true, true]);
    expect(new Set(sim.sent.map((s) => s.frame.header.seq)).size).toBe(1);
    expect(sim.events).toEqual([
      { at: t[0]! + t[1]! + t[2]! + t[3]!, ev: { type: 'timeout', handle: 3, dst: DEV, attempts: 4 } },
    ]);
    expect(sim.core.counters().total).toMatchObject({ sent: 4, retried: 3, timeouts: 1 });
    expect(sim.core.nextWake()).toBeUndefined();
  });

  it('caps the backoff, honours per-request maxAttempts and timeoutMs', () => {
    const sim = new Sim(
      core({ maxBackoffMs: 3000 }),
      device(0, () => true),
    );
    sim.input(ping(1, { maxAttempts: 5 }));
    sim.run();
    const gaps = sim.sent.slice(1).map((s, i) => s.at - sim.sent[i]!.at);
    expect(gaps).toEqual([1e6, 2e6, 3e6, 3e6].map((x) => x * JITTER));
    expect(sim.emitted('timeout')).toMatchObject([{ attempts: 5 }]);

    const sim2 = new Sim(
      core({ jitter: 0 }),
      device(0, () => true),
    );
    sim2.input(ping(2, { timeoutMs: 100, maxAttempts: 2 }));
    sim2.run();
    expect(sim2.sent.map((s) => s.at)).toEqual([0, 100_000]);
    expect(sim2.events.map((e) => e.at)).toEqual([300_000]);
  });

  it('draws jitter from the injected random', () => {
    const draws = [0, 1, 0.25];
    const sim = new Sim(
      new LinkCore({ random: () => draws.shift() ?? 0, jitter: 0.2, maxAttempts: 3 }),
      device(0, () => true),
    );
    sim.input(ping(1));
    sim.run();
    expect(sim.sent.map((s) => s.at)).toEqual([0, 1_000_000, 1_000_000 + 2_400_000]);
    expect(sim.events[0]?.at).toBe(3_400_000 + 4_200_000);
  });
});

describe('LinkCore: RTO from measured RTT', () => {
  /** Runs `n` pings answered after `rttUs` each; returns the first-attempt timeout of the next request. */
  function nextTimeout(sim: Sim, n: number, rttUs: number): number {
    sim.dev = device(rttUs);
    for (let i = 0; i < n; i++) {
      sim.input(ping(1000 + i, { timeoutMs: 60_000 }));
      sim.run();
    }
    sim.dev = device(0, () => true);
    const start = sim.now;
    sim.input(ping(9999, { maxAttempts: 1 }));
    const wake = sim.core.nextWake()!;
    sim.input({ type: 'cancel', handle: 9999 });
    return (wake - start) / JITTER;
  }

  it('shrinks after fast answers, grows after slow ones, and stays clamped', () => {
    const sim = new Sim(core({ jitter: 0.1, rtoMinMs: 20, rtoMaxMs: 2000 }), device(0));
    expect(nextTimeout(sim, 0, 0)).toBeCloseTo(1_000_000); // initial RTO
    expect(nextTimeout(sim, 20, 1000)).toBeCloseTo(20_000); // fast: clamped to the minimum
    const afterSlow = nextTimeout(sim, 3, 300_000);
    expect(afterSlow).toBeGreaterThan(300_000);
    expect(afterSlow).toBeLessThan(2_000_000);
    const stats = sim.core.rttStats(DEV);
    expect(stats.samples).toBe(23);
    expect(stats.rtoUs).toBeCloseTo(stats.srttUs! + 4 * stats.rttvarUs!);
    expect(nextTimeout(sim, 2, 1_500_000)).toBeCloseTo(2_000_000); // slow: clamped to the maximum
    // Per destination: another device still starts at the initial RTO.
    expect(sim.core.rttStats(DEV2)).toMatchObject({ samples: 0, rtoUs: 1_000_000, srttUs: undefined });
  });

  it('follows RFC 6298 on the first two samples', () => {
    const sim = new Sim(core({ rtoMinMs: 1 }), device(10_000));
    sim.input(ping(1));
    sim.run();
    sim.dev = device(20_000);
    sim.input(ping(2));
    sim.run();
    // RTTVAR = 3/4·5000 + 1/4·|10000 − 20000| = 6250; SRTT = 7/8·10000 + 1/8·20000 = 11250
    expect(sim.core.rttStats(DEV)).toMatchObject({
      srttUs: 11_250,
      rttvarUs: 6250,
      rtoUs: 36_250,
      lastUs: 20_000,
    });
  });
});

describe('LinkCore: errors, duplicates, strays', () => {
  it('a gateway ERROR (reporter ≠ dst) completes the request with that seq only', () => {
    const sim = new Sim(core(), () => []);
    sim.input(ping(1));
    sim.input({ type: 'request', handle: 2, dst: DEV2, message: { type: 'identify', body: {} } });
    const seq2 = sim.sent[1]!.frame.header.seq;
    const err = encodeFrame(
      { dst: 0, src: GW, seq: seq2, response: true },
      { type: 'error', body: { code: ErrorCode.no_route, reporter: GW, requestType: 0x02 } },
    );
    sim.now = 5000;
    sim.input({ type: 'frame', bytes: err, bus: 'can0', rxUs: 5000 });
    expect(sim.emitted('error_answer')).toMatchObject([
      {
        handle: 2,
        dst: DEV2,
        code: ErrorCode.no_route,
        codeName: 'no_route',
        reporter: GW,
        from: GW,
        attempts: 1,
      },
    ]);
    expect(sim.core.pendingCount()).toBe(1); // handle 1 still waits
    expect(sim.core.rttStats(DEV2).samples).toBe(0); // not the destination's RTT
    expect(sim.core.counters().byBus.can0).toMatchObject({ error_answers: 1 });

    // An ERROR from a third node that does not claim to be the reporter does not complete anything.
    const seq1 = sim.sent[0]!.frame.header.seq;
    const bogus = encodeFrame(
      { dst: 0, src: 0x30, seq: seq1, response: true },
      { type: 'error', body: { code: ErrorCode.busy } },
    );
    sim.input({ type: 'frame', bytes: bogus, bus: 'can0', rxUs: 6000 });
    expect(sim.emitted('stray_answer')).toHaveLength(1);
    expect(sim.core.pendingCount()).toBe(1);

    // An ERROR from the destination itself completes it too (and is a valid RTT sample).
    const own = encodeFrame(
      { dst: 0, src: DEV, seq: seq1, response: true },
      { type: 'error', body: { code: ErrorCode.busy } },
    );
    sim.now = 8000;
    sim.input({ type: 'frame', bytes: own, bus: BUS, rxUs: 8000 });
    expect(sim.emitted('error_answer')[1]).toMatchObject({ handle: 1, codeName: 'busy', from: DEV });
    expect(sim.emitted('error_answer')[1]).not.toHaveProperty('reporter');
    expect(sim.core.rttStats(DEV).samples).toBe(1);
    expect(sim.core.pendingCount()).toBe(0);
  });

  it('an answer of a type the request does not expect is a stray', () => {
    const sim = new Sim(core(), (req) => [
      { delayUs: 100, bytes: reply(req, { type: 'ok', body: {} }) },
      { delayUs: 200, bytes: reply(req, pong(req)) },
    ]);
    sim.input(ping(1));
    sim.run();
    expect(sim.emitted('stray_answer')).toHaveLength(1);
    expect(sim.emitted('answer')).toMatchObject([{ handle: 1, rttUs: 200 }]);
  });

  it('duplicate answers (to one attempt or to several) are emitted once and counted', () => {
    // Answers to attempt 1 arrive late (after the retransmission) and the device answers each attempt.
    const sim = new Sim(
      core({ rtoInitialMs: 100 }),
      device((out) => (out.attempt === 1 ? 150_000 : 10_000)),
    );
    sim.input(ping(1));
    sim.run();
    expect(sim.sent).toHaveLength(2);
    expect(sim.emitted('answer')).toMatchObject([{ handle: 1, attempts: 2 }]);
    expect(sim.emitted('duplicate')).toMatchObject([{ kind: 'answer', handle: 1 }]);
    expect(sim.core.counters().total).toMatchObject({ answers: 1, duplicate_answer: 1 });
    expect(sim.core.rttStats(DEV).samples).toBe(0);

    // The same answer delivered twice.
    const sim2 = new Sim(core(), (req) => {
      const bytes = reply(req, pong(req));
      return [
        { delayUs: 100, bytes },
        { delayUs: 300, bytes },
      ];
    });
    sim2.input(ping(5));
    sim2.run();
    expect(sim2.emitted('answer')).toHaveLength(1);
    expect(sim2.emitted('duplicate')).toHaveLength(1);
    expect(sim2.core.counters().byBus[BUS]).toMatchObject({ duplicate_answer: 1, answers: 1, received: 2 });
  });

  it('answers that match nothing (unknown seq, or after a timeout) are stray answers', () => {
    const sim = new Sim(core({ maxAttempts: 1 }), device(2_000_000));
    const unknown = encodeFrame({ dst: 0, src: DEV, seq: 4242, response: true }, { type: 'pong', body: {} });
    sim.input({ type: 'frame', bytes: unknown, bus: BUS, rxUs: 0 });
    sim.input(ping(1));
    sim.run();
    expect(sim.emitted('timeout')).toMatchObject([{ handle: 1, attempts: 1 }]);
    expect(sim.emitted('stray_answer')).toHaveLength(2);
    expect(sim.emitted('unsolicited')).toHaveLength(0);
    expect(sim.core.counters().total).toMatchObject({ late_or_unknown_answer: 2, timeouts: 1 });
  });

  it('events are surfaced as unsolicited; a repeated event within the window is suppressed', () => {
    const sim = new Sim(core({ dedupWindowMs: 1000 }), () => []);
    const hb = (seq: number) =>
      encodeFrame(
        { dst: 0, src: DEV, seq },
        { type: 'heartbeat', body: { uptimeMs: 5, mode: 1, health: 0, resetReason: 0, resetCount: 0 } },
      );
    const at = (t: number, bytes: Uint8Array) => {
      sim.now = t;
      sim.input({ type: 'frame', bytes, bus: 'can1', rxUs: t });
    };
    at(0, hb(10));
    at(100_000, hb(10)); // duplicate
    at(200_000, hb(11)); // new seq
    const hello = encodeFrame(
      { dst: 0xff, src: DEV, seq: 10 },
      { type: 'log', body: { deviceTime: 1, level: 1, text: 'hi' } },
    );
    at(300_000, hello); // same src+seq, other type: not a duplicate
    at(2_000_000, hb(10)); // window passed
    expect(sim.emitted('unsolicited').map((e) => e.header.seq)).toEqual([10, 11, 10, 10]);
    expect(sim.emitted('duplicate')).toMatchObject([{ kind: 'event', bus: 'can1' }]);
    expect((sim.emitted('duplicate')[0] as { header: FrameHeader }).header.seq).toBe(10);
    expect(sim.core.counters().byBus.can1).toMatchObject({ unsolicited: 4, duplicate_event: 1, received: 5 });
  });

  it('an event with a known seq but other content is new: a device that rebooted counts from the start again', () => {
    const sim = new Sim(core({ dedupWindowMs: 2000 }), () => []);
    const hello = (uptimeMs: number, resetCount: number) =>
      encodeFrame(
        { dst: 0, src: DEV, seq: 1 },
        { type: 'heartbeat', body: { uptimeMs, mode: 1, health: 0, resetReason: 6, resetCount } },
      );
    const first = hello(600, 2);
    for (const [t, bytes] of [
      [0, first],
      [10_000, first], // a copy (a CAN duplicate, a resent frame): dropped
      [500_000, hello(5, 3)], // rebooted 0.5 s later, seq 1 again: new
    ] as const) {
      sim.now = t;
      sim.input({ type: 'frame', bytes, bus: BUS, rxUs: t });
    }
    expect(sim.emitted('unsolicited')).toHaveLength(2);
    expect(sim.emitted('duplicate')).toHaveLength(1);
  });

  it('counts bad frames by cause and never throws', () => {
    const sim = new Sim(core(), () => []);
    const good = encodeFrame({ dst: 0, src: DEV, seq: 1 }, { type: 'pong', body: {} });
    const badCrc = good.slice();
    badCrc[8]! ^= 0x01;
    const badVersion = good.slice();
    badVersion[0] = 2;
    sim.input({ type: 'frame', bytes: badCrc, bus: BUS, rxUs: 0 });
    sim.input({ type: 'frame', bytes: good.subarray(0, 5), bus: BUS, rxUs: 0 });
    sim.input({ type: 'frame', bytes: new Uint8Array(0), bus: 'can0', rxUs: 0 });
    sim.input({ type: 'frame', bytes: badVersion, bus: 'can0', rxUs: 0 });
    expect(sim.emitted('bad_frame').map((e) => e.error.code)).toEqual([
      'bad_crc',
      'truncated',
      'truncated',
      'unknown_version',
    ]);
    const c = sim.core.counters();
    expect(c.total).toMatchObject({
      bad_frames: 4,
      bad_crc: 1,
      truncated: 2,
      unknown_version: 1,
      received: 4,
    });
    expect(c.byBus[BUS]).toMatchObject({ bad_crc: 1, truncated: 1 });
    expect(c.byBus.can0).toMatchObject({ truncated: 1, unknown_version: 1 });
    // A frame for another node is not ours (CAN buses are shared).
    sim.input({
      type: 'frame',
      bytes: encodeFrame({ dst: DEV2, src: DEV, seq: 1 }, { type: 'ping', body: {} }),
      bus: 'can0',
      rxUs: 0,
    });
    expect(sim.core.counters().total.not_for_us).toBe(1);
  });
});

describe('LinkCore: seq, cancel, rejects', () => {
  it('seq is one global counter that wraps 0xFFFF → 0 and answers still match', () => {
    const sim = new Sim(core({ initialSeq: 0xfffe }), device(1000));
    sim.input(ping(1));
    sim.input({ type: 'request', handle: 2, dst: DEV2, message: { type: 'ping', body: {} } });
    sim.input(ping(3));
    sim.input({ type: 'event', dst: DEV, message: { type: 'update_chunk', body: chunk() } });
    expect(sim.sent.map((s) => s.frame.header.seq)).toEqual([0xfffe, 0xffff, 0, 1]);
    sim.run();
    const answers = sim.emitted('answer');
    expect(answers.map((a) => [a.handle, a.header.seq, a.header.src])).toEqual([
      [1, 0xfffe, DEV],
      [2, 0xffff, DEV2],
      [3, 0, DEV],
    ]);
    expect(sim.core.peekSeq()).toBe(2);
  });

  it('skips a seq still held by a pending request after wrapping', () => {
    const c = core({ initialSeq: 0xffff });
    c.handle(ping(1), 0); // seq 0xffff, stays pending
    for (let i = 0; i < 0xffff; i++)
      c.handle({ type: 'event', dst: DEV, message: { type: 'ping', body: {} } }, 0);
    expect(c.peekSeq()).toBe(0xffff);
    const out = c.handle(ping(2), 0);
    expect(out.send[0]?.seq).toBe(0);
  });

  it('cancel removes a pending request; its answer is then a stray', () => {
    const sim = new Sim(core(), device(50_000));
    sim.input(ping(1));
    expect(sim.core.nextWake()).toBe(1_050_000);
    sim.input({ type: 'cancel', handle: 1 });
    expect(sim.emitted('cancelled')).toMatchObject([{ handle: 1, dst: DEV, attempts: 1 }]);
    expect(sim.core.nextWake()).toBeUndefined();
    sim.run();
    expect(sim.emitted('answer')).toHaveLength(0);
    expect(sim.emitted('stray_answer')).toHaveLength(1);
    expect(sim.core.counters().total).toMatchObject({ cancelled: 1, late_or_unknown_answer: 1 });
    // Cancelling an unknown handle does nothing.
    sim.input({ type: 'cancel', handle: 42 });
    expect(sim.emitted('cancelled')).toHaveLength(1);
  });

  it('rejects non-requests, broadcast destinations and duplicate handles', () => {
    const c = core();
    const r1 = c.handle({ type: 'request', handle: 1, dst: DEV, message: { type: 'pong', body: {} } }, 0);
    expect(r1.emit).toMatchObject([{ type: 'rejected', handle: 1, reason: 'not_a_request' }]);
    const r2 = c.handle({ ...(ping(2) as object), dst: 0xff } as LinkInput, 0);
    expect(r2.emit).toMatchObject([{ type: 'rejected', reason: 'bad_destination' }]);
    c.handle(ping(3), 0);
    const r3 = c.handle(ping(3), 0);
    expect(r3.emit).toMatchObject([{ type: 'rejected', reason: 'duplicate_handle' }]);
    expect(r3.send).toHaveLength(0);
    expect(c.pendingCount()).toBe(1);
    expect(c.counters().total).toMatchObject({ rejected: 3, sent: 1 });
  });
});

function chunk(): Extract<Message, { type: 'update_chunk' }>['body'] {
  return { session: 1, offset: 0, data: new Uint8Array([1, 2, 3]) };
}
