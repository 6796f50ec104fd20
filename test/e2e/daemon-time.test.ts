import {
  buildBoard,
  HOST_STAMP_PROFILES,
  NS_PER_S,
  referenceBoard,
  type SimBoard,
  signals,
} from '@mcubus/firmware-sim';
import { type Daemon, simRuntime, simTransports } from '@mcubus/host';
import { ResetReason } from '@mcubus/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonOn, stateDirs } from '../support/sim-daemon.js';

/**
 * Time alignment end to end: the real daemon on the simulated reference board in virtual time, with
 * the host's serial stamps jittering by up to 2 ms. Ground truth comes from the simulator's clocks.
 */
const dirs = stateDirs('mcubus-time-e2e-');
afterEach(() => dirs.cleanup());

const EPOCH_MS = Date.UTC(2026, 0, 1);

function start(
  seed: number,
  board: SimBoard = buildBoard(referenceBoard(), seed),
): { board: SimBoard; daemon: Daemon } {
  const runtime = simRuntime(board.sim, EPOCH_MS);
  const stamps = { uart0: HOST_STAMP_PROFILES.serial, rs485: HOST_STAMP_PROFILES.serial };
  const { daemon } = daemonOn(board, dirs.make(), {
    transports: simTransports(board, runtime, undefined, { stamps }),
  });
  void daemon.start();
  return { board, daemon };
}

/** |estimate − truth| and the bound for a device timestamp taken now. */
function alignmentNow(board: SimBoard, daemon: Daemon, mcuName: string) {
  const mcu = board.mcus.get(mcuName)!;
  const nowUs = board.sim.now / 1000;
  const r = daemon.timeService!.hostOf(mcu.address, mcu.clock.readUs(board.sim.now), nowUs);
  if (!r) return null;
  return { error: Math.abs(r.hostUs - nowUs), bound: r.boundUs, epoch: r.epoch };
}

const run = (board: SimBoard, seconds: number) => board.sim.runFor(seconds * NS_PER_S);

describe('time alignment on the reference board', () => {
  it('aligns every MCU, and stored telemetry from two MCUs lines up with the true signal', () => {
    const { board, daemon } = start(11);
    run(board, 90);
    const views = daemon.time();
    expect(views.map((v) => [v.address, v.method, v.synced])).toEqual([
      [0x10, 'direct', true],
      [0x21, 'via_gateway', true],
      [0x22, 'via_gateway', true],
      [0x30, 'direct', true],
    ]);
    for (const name of ['gw', 'node-a', 'node-b', 'node-m']) {
      const a = alignmentNow(board, daemon, name)!;
      expect(a.error, name).toBeLessThanOrEqual(a.bound);
      expect(a.error, name).toBeLessThan(100);
    }
    // A log line from behind the gateway reaches the journal at the host time it was logged.
    const loggedAtMs = EPOCH_MS + board.sim.now / 1e6;
    board.mcus.get('node-b')!.log(2, 'battery temperature high', 'power');
    run(board, 0.5);
    const log = daemon.events({ device: 0x22, limit: 10 }).find((e) => e.kind === 'device.log')!;
    expect(log).toMatchObject({ severity: 'warning', message: '0x22: battery temperature high' });
    const data = log.data as { alignedMs: number; boundUs: number; module: string };
    expect(data.module).toBe('power');
    expect(Math.abs(data.alignedMs - loggedAtMs) * 1000).toBeLessThanOrEqual(data.boundUs);
    // node-a measures the supply current, node-b the battery current: both sines of true time.
    const residuals = (device: number, signal: (ns: number) => number, at: 'aligned' | 'received') =>
      daemon.telemetry({ device, limit: 100 }).map((r) => {
        const tUs = at === 'aligned' ? r.alignedUs! - EPOCH_MS * 1000 : (r.receivedMs - EPOCH_MS) * 1000;
        return r.value - signal(tUs * 1000);
      });
    const rms = (xs: number[]) => Math.sqrt(xs.reduce((a, x) => a + x * x, 0) / xs.length);
    const a = residuals(0x21, signals.supplyCurrent_mA, 'aligned');
    const b = residuals(0x22, signals.batteryCurrent_mA, 'aligned');
    expect(a).toHaveLength(100);
    // The sensors' own noise is 2 mA; 100 µs of misalignment would add at most 0.6 mA.
    expect(rms(a)).toBeLessThan(2.6);
    expect(rms(b)).toBeLessThan(2.6);
    // Placed at the time the frame arrived instead, the same samples are off by hundreds of mA.
    expect(rms(residuals(0x21, signals.supplyCurrent_mA, 'received'))).toBeGreaterThan(100);
    void daemon.stop();
  });

  it('starts a new epoch when a device reboots and its counter restarts, and aligns it again', () => {
    const spec = referenceBoard();
    const board = buildBoard(
      {
        ...spec,
        mcus: spec.mcus.map((m) =>
          m.name === 'node-m' ? { ...m, clock: { ...m.clock, restartsAtPowerOn: true } } : m,
        ),
      },
      12,
    );
    const { daemon } = start(12, board);
    run(board, 60);
    expect(alignmentNow(board, daemon, 'node-m')?.epoch).toBe(1);
    board.mcus.get('node-m')!.reset(ResetReason.software);
    run(board, 60);
    const epochs = daemon.events({ device: 0x30, limit: 100 }).filter((e) => e.kind === 'time.epoch');
    expect(epochs.map((e) => e.data)).toEqual([{ epoch: 2, reason: 'rebooted' }]);
    const a = alignmentNow(board, daemon, 'node-m')!;
    expect(a.epoch).toBe(2);
    expect(a.error).toBeLessThanOrEqual(a.bound);
    expect(a.error).toBeLessThan(100);
    // Telemetry after the reboot carries the new epoch and is aligned.
    const newest = daemon.telemetry({ device: 0x30, limit: 1 })[0]!;
    expect(newest.epoch).toBe(2);
    expect(newest.alignedUs).toBeDefined();
    void daemon.stop();
  });

  it('detects a clock jump, journals it and converges again', () => {
    const { board, daemon } = start(13);
    run(board, 60);
    board.mcus.get('gw')!.clock.jump(30_000);
    run(board, 10);
    const jumps = daemon.events({ device: 0x10, limit: 100 }).filter((e) => e.kind === 'time.jump');
    expect(jumps).toHaveLength(1);
    const delta = (jumps[0]!.data as { deltaUs: number }).deltaUs;
    expect(Math.abs(delta - 30_000)).toBeLessThan(1000);
    run(board, 50);
    const a = alignmentNow(board, daemon, 'gw')!;
    expect(a.error).toBeLessThanOrEqual(a.bound);
    expect(a.error).toBeLessThan(100);
    void daemon.stop();
  });

  it('survives a gateway reboot: new epoch for the gateway, its nodes re-aligned through it', () => {
    const { board, daemon } = start(14);
    run(board, 60);
    board.mcus.get('gw')!.reset(ResetReason.software);
    run(board, 1);
    // The gateway's old maps went with its epoch; until it reports again its nodes are timed with
    // exchanges through it: coarser, and the bound says so.
    expect(daemon.time().find((v) => v.address === 0x21)?.method).toBe('direct_through_gateway');
    const meanwhile = alignmentNow(board, daemon, 'node-a')!;
    expect(meanwhile.error).toBeLessThanOrEqual(meanwhile.bound);
    run(board, 59);
    expect(daemon.events({ device: 0x10, limit: 100 }).filter((e) => e.kind === 'time.epoch')).toHaveLength(
      1,
    );
    for (const name of ['gw', 'node-a', 'node-b']) {
      const a = alignmentNow(board, daemon, name)!;
      expect(a, name).not.toBeNull();
      expect(a.error, name).toBeLessThanOrEqual(a.bound);
      expect(a.error, name).toBeLessThan(150);
    }
    expect(daemon.time().find((v) => v.address === 0x21)).toMatchObject({
      method: 'via_gateway',
      synced: true,
    });
    void daemon.stop();
  });
});
