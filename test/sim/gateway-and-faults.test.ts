import { buildBoard, NS_PER_MS, NS_PER_S, referenceBoard } from '@mcubus/firmware-sim';
import { ErrorCode, ResetReason } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { ScriptedHost } from '../support/scripted-host.js';

describe('gateway forwarding', () => {
  it('answers ttl_expired for a request whose TTL runs out at the gateway', () => {
    const board = buildBoard(referenceBoard(), 3);
    const host = new ScriptedHost(board);
    board.sim.runFor(NS_PER_S);
    const answer = host.ask(0x21, { type: 'ping', body: {} }, 1000, { ttl: 1 });
    expect(answer?.message).toMatchObject({
      type: 'error',
      body: { code: ErrorCode.ttl_expired, reporter: 0x10 },
    });
    expect(board.mcus.get('gw')!.counters.get('forward_drop')).toBe(1);
  });

  it('answers no_route for an address it has no route to', () => {
    const board = buildBoard(referenceBoard(), 3);
    const host = new ScriptedHost(board);
    board.sim.runFor(NS_PER_S);
    const answer = host.ask(0x23, { type: 'ping', body: {} }, 1000, { via: { bus: 'uart0', nextHop: 0x10 } });
    expect(answer?.message).toMatchObject({
      type: 'error',
      body: { code: ErrorCode.no_route, reporter: 0x10 },
    });
  });

  it('reports its downstream nodes with TOPOLOGY', () => {
    const board = buildBoard(referenceBoard(), 3);
    const host = new ScriptedHost(board);
    board.sim.runFor(3 * NS_PER_S);
    const topo = host.ask(0x10, { type: 'topology_req', body: {} });
    expect(topo?.message).toMatchObject({
      type: 'topology',
      body: {
        routes: [
          expect.objectContaining({ node: 0x21, state: 1 }),
          expect.objectContaining({ node: 0x22, state: 1 }),
        ],
      },
    });
  });
});

describe('faults', () => {
  const lastHeartbeat = (host: ScriptedHost, address: number) => {
    const hb = host.framesFrom(address, 'heartbeat').at(-1)?.message;
    return hb?.type === 'heartbeat' ? hb.body : undefined;
  };

  it('crash: the MCU resets at once and reports reason fault', () => {
    const board = buildBoard(
      { ...referenceBoard(), faults: [{ atMs: 2000, kind: 'crash', mcu: 'node-a' }] },
      4,
    );
    const host = new ScriptedHost(board);
    board.sim.runFor(4 * NS_PER_S);
    expect(host.framesFrom(0x21, 'hello').length).toBe(2);
    expect(lastHeartbeat(host, 0x21)).toMatchObject({ resetReason: ResetReason.fault, resetCount: 1 });
    expect(lastHeartbeat(host, 0x21)!.uptimeMs).toBeLessThan(2100);
  });

  it('hang: silence until the watchdog resets it (reason watchdog)', () => {
    const board = buildBoard(
      { ...referenceBoard(), faults: [{ atMs: 2000, kind: 'hang', mcu: 'node-m' }] },
      5,
    );
    const host = new ScriptedHost(board);
    board.sim.runFor(2.4 * NS_PER_S);
    const during = host.framesFrom(0x30, 'heartbeat').length;
    board.sim.runFor(3 * NS_PER_S);
    const silent = host.framesFrom(0x30).filter((r) => r.atNs > 2.05 * NS_PER_S && r.atNs < 2.5 * NS_PER_S);
    expect(silent).toEqual([]);
    expect(host.framesFrom(0x30, 'heartbeat').length).toBeGreaterThan(during);
    expect(lastHeartbeat(host, 0x30)).toMatchObject({ resetReason: ResetReason.watchdog, resetCount: 1 });
  });

  it('brownout: power returns after the dip and the reason says so', () => {
    const board = buildBoard(
      { ...referenceBoard(), faults: [{ atMs: 1500, kind: 'brownout', mcu: 'gw', offMs: 300 }] },
      6,
    );
    const host = new ScriptedHost(board);
    board.sim.runFor(4 * NS_PER_S);
    expect(lastHeartbeat(host, 0x10)).toMatchObject({ resetReason: ResetReason.brownout });
    // While the gateway was off, nothing from behind it reached the host.
    const behind = host.received.filter(
      (r) =>
        (r.header.src === 0x21 || r.header.src === 0x22) &&
        r.atNs > 1.51 * NS_PER_S &&
        r.atNs < 1.8 * NS_PER_S,
    );
    expect(behind).toEqual([]);
  });

  it('clock jump: device time leaps while uptime and true time do not', () => {
    const board = buildBoard(
      {
        ...referenceBoard(),
        faults: [{ atMs: 2500, kind: 'clock_jump', mcu: 'node-b', deltaUs: 5_000_000 }],
      },
      7,
    );
    const host = new ScriptedHost(board);
    board.sim.runFor(4.2 * NS_PER_S);
    const times = host
      .framesFrom(0x22, 'heartbeat')
      .map((r) => (r.message.type === 'heartbeat' ? r.message.body.deviceTime! : 0));
    const steps = times.slice(1).map((t, i) => t - times[i]!);
    expect(steps.filter((s) => s > 5_900_000 && s < 6_100_000).length).toBe(1);
    expect(steps.filter((s) => s > 900_000 && s < 1_100_000).length).toBe(steps.length - 1);
  });

  it('slow responder: answers arrive later by the configured delay', () => {
    const board = buildBoard(
      { ...referenceBoard(), faults: [{ atMs: 1000, kind: 'slow', mcu: 'gw', extraUs: 30_000 }] },
      8,
    );
    const host = new ScriptedHost(board);
    board.sim.runFor(0.9 * NS_PER_S);
    const t0 = board.sim.now;
    host.ask(0x10, { type: 'ping', body: {} });
    const fast = board.sim.now - t0;
    board.sim.runFor(0.2 * NS_PER_S);
    const t1 = board.sim.now;
    host.ask(0x10, { type: 'ping', body: {} });
    const slow = board.sim.now - t1;
    expect(slow - fast).toBeGreaterThan(29 * NS_PER_MS);
    expect(slow - fast).toBeLessThan(31 * NS_PER_MS);
  });
});

describe('duplicate suppression', () => {
  it('replays the cached answer only for the identical request; a restarted host reusing a seq gets a fresh one', () => {
    const board = buildBoard(referenceBoard(), 9);
    const host = new ScriptedHost(board);
    board.sim.runFor(NS_PER_S);
    const answers: number[] = [];
    host.onReceive((rx) => {
      if (rx.message.type === 'pong' && rx.message.body.nonce !== undefined)
        answers.push(rx.message.body.nonce);
    });
    host.send(0x10, { type: 'ping', body: { nonce: 1 } }, { seq: 500 });
    board.sim.runFor(0.1 * NS_PER_S);
    host.send(0x10, { type: 'ping', body: { nonce: 1 } }, { seq: 500 }); // a duplicate: replayed
    board.sim.runFor(0.1 * NS_PER_S);
    host.send(0x10, { type: 'ping', body: { nonce: 2 } }, { seq: 500 }); // new request, same seq
    board.sim.runFor(0.1 * NS_PER_S);
    expect(answers).toEqual([1, 1, 2]);
    expect(board.mcus.get('gw')!.counters.get('duplicate_request')).toBe(1);
  });
});
