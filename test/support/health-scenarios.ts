import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BoardSpec,
  buildBoard,
  type FaultEvent,
  type McuSpec,
  Prng,
  type SimBoard,
} from '@mcubus/firmware-sim';
import { type Daemon, type FrameTransport, simRuntime, simTransports } from '@mcubus/host';
import { advance, daemonOn } from './sim-daemon.js';

/** Eight devices: a gateway on the host's UART and seven CAN nodes behind it; heartbeats every second. */
export function healthBoard(faults: FaultEvent[] = [], hostLinkLoss = 0.1): BoardSpec {
  const mcus: McuSpec[] = [
    {
      name: 'gw',
      address: 0x10,
      hardwareId: 'hb-gw',
      ports: [{ bus: 'uart0' }, { bus: 'can0' }],
      gateway: { timeSyncPeriodMs: 60_000, timeMapPeriodMs: 60_000 },
    },
  ];
  for (let i = 0; i < 7; i++) {
    mcus.push({
      name: `n${i}`,
      address: 0x21 + i,
      hardwareId: 'hb-node',
      ports: [{ bus: 'can0' }],
      clock: { skewPpm: i * 20 - 60 },
      powerOnAtMs: 2 + i,
    });
  }
  return {
    name: 'health',
    buses: [
      // Loss of whole mcubus frames on the host's link, in both directions.
      { kind: 'uart', name: 'uart0', baud: 115_200, ends: ['host', 'gw'], faults: [{ drop: hostLinkLoss }] },
      { kind: 'can', name: 'can0', bitrate: 500_000 },
    ],
    host: { buses: ['uart0'] },
    mcus,
    faults,
  };
}

/**
 * Host stalls: the daemon's event loop freezes for `stallMs` every so often (GC, a slow disk): frames
 * that arrive meanwhile are handed over in one burst afterwards.
 */
function withStalls(
  t: FrameTransport,
  board: SimBoard,
  rng: Prng,
  stallMs: number,
  everyMs: number,
): FrameTransport {
  let stalledUntil = 0;
  const held: [Uint8Array, { from?: number; rxUs: number }][] = [];
  const listeners: ((f: Uint8Array, info: { from?: number; rxUs: number }) => void)[] = [];
  const scheduleStall = () => {
    board.sim.scheduler.after(rng.range(0.5, 1.5) * everyMs * 1e6, () => {
      stalledUntil = board.sim.now + stallMs * 1e6;
      board.sim.scheduler.after(stallMs * 1e6, () => {
        for (const [f, info] of held.splice(0)) for (const l of listeners) l(f, info);
      });
      scheduleStall();
    });
  };
  scheduleStall();
  t.onFrame((f, info) => {
    if (board.sim.now < stalledUntil) held.push([f, info]);
    else for (const l of listeners) l(f, info);
  });
  return {
    ...t,
    name: t.name,
    kind: t.kind,
    mtu: t.mtu,
    onFrame: (l) => listeners.push(l),
    start: () => t.start(),
    stop: () => t.stop(),
    send: (...a) => t.send(...a),
    onEvent: (l) => t.onEvent(l),
    counters: () => t.counters(),
  };
}

export async function daemonOnBoard(
  spec: BoardSpec,
  seed: number,
  opts: { stallMs?: number; stallEveryMs?: number } = {},
): Promise<{ board: SimBoard; daemon: Daemon; close: () => Promise<void> }> {
  const board = buildBoard(spec, seed, { traceKeep: 0, storageFor: () => null });
  const runtime = simRuntime(board.sim);
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-hb-'));
  let transports = simTransports(board, runtime);
  if (opts.stallMs) {
    const stallRng = new Prng(`stalls:${seed}`);
    transports = transports.map((t) =>
      withStalls(t, board, stallRng, opts.stallMs!, opts.stallEveryMs ?? 10_000),
    );
  }
  const { daemon, registry } = daemonOn(board, dir, { transports, runtime });
  await daemon.start();
  return {
    board,
    daemon,
    close: async () => {
      await daemon.stop();
      registry.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Advances virtual time in steps, letting promise continuations run in between. */
export const runSim = advance;
