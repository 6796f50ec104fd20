import {
  type BoardSpec,
  buildBoard,
  type FaultEvent,
  NS_PER_S,
  referenceBoard,
  type SimBoard,
} from '@mcubus/firmware-sim';
import type { Daemon } from '@mcubus/host';
import { afterEach, describe, expect, it } from 'vitest';
import { advance, daemonOn, stateDirs } from '../support/sim-daemon.js';

const dirs = stateDirs('mcubus-health-');
afterEach(dirs.cleanup);

async function boardWithDaemon(
  faults: FaultEvent[],
  seed: number,
  spec: BoardSpec = referenceBoard(),
  heartbeatPeriodMs?: number,
) {
  const board = buildBoard({ ...spec, faults }, seed);
  const { daemon, registry } = daemonOn(
    board,
    dirs.make(),
    heartbeatPeriodMs !== undefined ? { heartbeatPeriodMs } : {},
  );
  await daemon.start();
  return { board, daemon, registry };
}

const runFor = (board: SimBoard, seconds: number) => advance(board, seconds);
const stateOf = (d: Daemon, address: number) => d.health().find((h) => h.address === address)?.state;
const healthEvents = (d: Daemon) =>
  d
    .events({ limit: 500 })
    .filter((e) => e.kind.startsWith('health.'))
    .reverse();

describe('health on the reference board', () => {
  it('a node behind the gateway that dies is down within 2.5 heartbeat periods; the others stay up', async () => {
    const { board, daemon, registry } = await boardWithDaemon(
      [{ atMs: 5000, kind: 'power_off', mcu: 'node-a' }],
      31,
    );
    await runFor(board, 4.9);
    expect([0x10, 0x21, 0x22, 0x30].map((a) => stateOf(daemon, a))).toEqual(['up', 'up', 'up', 'up']);
    await runFor(board, 3);
    const down = healthEvents(daemon).find(
      (e) => e.device === 0x21 && (e.data as { to: string }).to === 'down',
    );
    expect(down).toBeDefined();
    // Dead at 5.0 s; heartbeats every 1 s: down no later than 2.5 periods after the last one it sent.
    const startedMs = daemon.status().startedAtMs;
    expect(down!.atMs - startedMs).toBeLessThanOrEqual(5000 + 2500);
    expect(down!.message).toMatch(/0x21 \(node-a\): suspect → down \(silent for .* probe\(s\) unanswered/);
    expect([0x10, 0x22, 0x30].map((a) => stateOf(daemon, a))).toEqual(['up', 'up', 'up']);
    await daemon.stop();
    registry.close();
  });

  it('a dead gateway is one fault: the nodes behind it are unreachable, not each down', async () => {
    const { board, daemon, registry } = await boardWithDaemon(
      [{ atMs: 4000, kind: 'power_off', mcu: 'gw' }],
      32,
    );
    await runFor(board, 8);
    const events = healthEvents(daemon);
    // On the point-to-point UART the gateway's death silences the whole bus: one bus (or route) event.
    const faults = events.filter((e) => e.kind === 'health.route_down' || e.kind === 'health.bus_down');
    expect(faults).toHaveLength(1);
    expect(faults[0]!.message).toMatch(/0x21 \(node-a\), 0x22 \(node-b\) unreachable/);
    expect([stateOf(daemon, 0x21), stateOf(daemon, 0x22)]).toEqual(['unreachable', 'unreachable']);
    expect(
      events.some(
        (e) => (e.device === 0x21 || e.device === 0x22) && (e.data as { to?: string }).to === 'down',
      ),
    ).toBe(false);
    expect(stateOf(daemon, 0x30)).toBe('up');
    await daemon.stop();
    registry.close();
  });

  it('reports a reset with its reason, and a crash loop once', async () => {
    const crashes: FaultEvent[] = [3000, 6000, 9000].map((atMs) => ({ atMs, kind: 'crash', mcu: 'node-m' }));
    const { board, daemon, registry } = await boardWithDaemon(crashes, 33);
    await runFor(board, 11);
    const events = healthEvents(daemon);
    const resets = events.filter((e) => e.kind === 'health.reset' && e.device === 0x30);
    expect(resets.length).toBe(3);
    expect(resets[0]!.message).toMatch(/0x30 \(node-m\) reset \(fault\)/);
    expect(events.filter((e) => e.kind === 'health.crash_loop' && e.device === 0x30)).toHaveLength(1);
    expect(daemon.health().find((h) => h.address === 0x30)?.crashLoop).toBe(true);
    await daemon.stop();
    registry.close();
  });

  it('a node that heartbeats but answers nothing becomes a zombie', async () => {
    const { board, daemon, registry } = await boardWithDaemon(
      [{ atMs: 3000, kind: 'mute', mcu: 'node-b' }],
      34,
    );
    await runFor(board, 3.5);
    for (let i = 0; i < 3; i++) {
      let result: { ok: boolean } | undefined;
      daemon.ping(0x22, 100).then((r) => {
        result = r;
      });
      while (result === undefined) await runFor(board, 0.1);
      expect(result.ok).toBe(false);
    }
    expect(stateOf(daemon, 0x22)).toBe('zombie');
    const zombie = healthEvents(daemon).find(
      (e) => e.device === 0x22 && (e.data as { to: string }).to === 'zombie',
    );
    expect(zombie?.severity).toBe('error');
    await daemon.stop();
    registry.close();
  });

  it('a bus that goes quiet for 2 s is one bus fault, not every device on it dying', async () => {
    const spec = referenceBoard();
    const quietUart: BoardSpec = {
      ...spec,
      buses: spec.buses.map((b) =>
        b.name === 'uart0' ? { ...b, faults: [{ from: 4 * NS_PER_S, until: 7 * NS_PER_S, drop: 1 }] } : b,
      ),
    };
    const { board, daemon, registry } = await boardWithDaemon([], 35, quietUart);
    await runFor(board, 9);
    const events = healthEvents(daemon);
    const busDown = events.filter((e) => e.kind === 'health.bus_down');
    expect(busDown).toHaveLength(1);
    expect(busDown[0]!.bus).toBe('uart0');
    expect(events.some((e) => (e.data as { to?: string }).to === 'down')).toBe(false);
    // Traffic is back: everything is up again.
    expect([0x10, 0x21, 0x22, 0x30].map((a) => stateOf(daemon, a))).toEqual(['up', 'up', 'up', 'up']);
    await daemon.stop();
    registry.close();
  });

  it('negotiates the heartbeat period: devices behind the gateway beat at the configured rate', async () => {
    const { board, daemon, registry } = await boardWithDaemon([], 36, referenceBoard(), 250);
    await runFor(board, 3);
    const before = daemon.health().find((h) => h.address === 0x21)!;
    expect(before.expectedIntervalMs).toBeGreaterThan(200);
    expect(before.expectedIntervalMs).toBeLessThan(300);
    const hello = await (async () => {
      let r: { ok: boolean; answer?: { type: string; body: unknown } } | undefined;
      daemon.request(0x22, { type: 'identify', body: {} }).then((x) => {
        r = x;
      });
      while (r === undefined) await runFor(board, 0.05);
      return r;
    })();
    expect(hello.answer?.body).toMatchObject({ heartbeatPeriodMs: 250 });
    await daemon.stop();
    registry.close();
  });
});
