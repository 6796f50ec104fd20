import { request } from 'node:http';
import { join } from 'node:path';
import {
  type BoardSpec,
  buildBoard,
  buildSignedImage,
  referenceBoard,
  SIM_SIGNING_KEY,
  type SimBoard,
} from '@mcubus/firmware-sim';
import {
  type ApiServerHandle,
  createMetrics,
  type Daemon,
  type DaemonMetrics,
  type DaemonOptions,
  type Registry,
  simRuntime,
  simTransports,
  startApiServer,
  TrafficCounter,
} from '@mcubus/host';
import { afterEach, describe, expect, it } from 'vitest';
import { type PromFamily, parseExposition, sampleValue } from '../support/prom-text.js';
import { advance, daemonOn, settle, stateDirs } from '../support/sim-daemon.js';

/**
 * GET /metrics end to end: the real daemon on the simulated reference board in virtual time (the
 * gateway 0x10 on the UART with 0x21 and 0x22 behind it on CAN, 0x30 on Modbus), the API server on a
 * temporary unix socket, and the exposition parsed strictly (test/support/prom-text.ts).
 */
const dirs = stateDirs('mcubus-metrics-');
const running: { api: ApiServerHandle; daemon: Daemon; registry: Registry; metrics: DaemonMetrics }[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.api.close();
    r.metrics.close();
    await r.daemon.stop();
    r.registry.close();
  }
  dirs.cleanup();
});

const DEVICES = ['0x10', '0x21', '0x22', '0x30'];

async function start(spec: BoardSpec, seed: number, options: Partial<DaemonOptions> = {}) {
  const board = buildBoard(spec, seed);
  const dir = dirs.make();
  const runtime = simRuntime(board.sim);
  const traffic = new TrafficCounter();
  const { daemon, registry } = daemonOn(board, dir, {
    runtime,
    transports: traffic.wrap(simTransports(board, runtime)),
    ...options,
  });
  await daemon.start();
  const metrics = createMetrics(daemon, { version: 'test', traffic });
  const socketPath = join(dir, 'api.sock');
  const api = await startApiServer(daemon, { socketPath, metrics });
  running.push({ api, daemon, registry, metrics });
  return { board, daemon, socketPath, metrics };
}

function get(socketPath: string, path: string): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(socketPath: string, contentType: string): Promise<Map<string, PromFamily>> {
  const r = await get(socketPath, '/metrics');
  expect(r.status).toBe(200);
  expect(r.type).toBe(contentType);
  return parseExposition(r.text);
}

/** The state a state-set metric says a device is in (the one series at 1; exactly one must be). */
function stateOf(m: Map<string, PromFamily>, metric: string, labels: Record<string, string>): string {
  const on = m
    .get(metric)!
    .samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v) && s.value === 1);
  expect(on).toHaveLength(1);
  return on[0]!.labels.state ?? on[0]!.labels.phase!;
}

/** The reference board with bit errors on the gateway's UART (1e-4: a few a second at its rate). */
function noisyUart(faults: BoardSpec['faults'] = []): BoardSpec {
  const spec = referenceBoard();
  return {
    ...spec,
    faults,
    buses: spec.buses.map((b) => (b.name === 'uart0' ? { ...b, bitErrorRate: 1e-4 } : b)),
  };
}

describe('Prometheus metrics on the simulated reference board', () => {
  it('serves every bus and device with real values over the unix socket, and follows a crash', async () => {
    const { board, daemon, socketPath, metrics } = await start(
      noisyUart([
        { atMs: 16_000, kind: 'power_off', mcu: 'node-a' },
        { atMs: 16_000, kind: 'crash', mcu: 'node-m' },
      ]),
      41,
    );
    await advance(board, 15);
    const m = await scrape(socketPath, 'text/plain; version=0.0.4; charset=utf-8');

    // Every mcubus metric is documented and typed.
    const ours = [...m.values()].filter((f) => f.name.startsWith('mcubus_'));
    expect(ours.length).toBeGreaterThan(20);
    for (const f of ours) {
      expect(f.help, f.name).toMatch(/\w{4,}/);
      expect(f.type, f.name).not.toBe('untyped');
    }
    expect(sampleValue(m, 'mcubus_daemon_info', { version: 'test' })).toBe(1);

    // Devices: all four, with what the registry knows of them.
    const info = m.get('mcubus_device_info')!.samples;
    expect(info.map((s) => s.labels.device).sort()).toEqual(DEVICES);
    expect(info.find((s) => s.labels.device === '0x21')!.labels).toMatchObject({
      name: 'node-a',
      bus: 'uart0',
      via: '0x10',
      hardware_id: 'mcubus-ref-node',
      mode: 'app',
    });

    // Buses: open, frames and bytes both ways; no mcubus frame is shorter than 13 bytes.
    for (const bus of ['uart0', 'rs485']) {
      expect(stateOf(m, 'mcubus_bus_state', { bus })).toBe('open');
      for (const direction of ['rx', 'tx']) {
        const frames = sampleValue(m, 'mcubus_bus_frames_total', { bus, direction });
        expect(frames, `${bus} ${direction}`).toBeGreaterThan(10);
        expect(sampleValue(m, 'mcubus_bus_bytes_total', { bus, direction })).toBeGreaterThanOrEqual(
          13 * frames,
        );
      }
    }
    // The link layer received every frame the daemon took from the bus (bad ones included).
    expect(sampleValue(m, 'mcubus_bus_activity_total', { bus: 'uart0', counter: 'link_received' })).toBe(
      sampleValue(m, 'mcubus_bus_frames_total', { bus: 'uart0', direction: 'rx' }),
    );
    // Errors by cause: the noisy UART has some, the clean RS-485 line none.
    const errors = (bus: string) =>
      m
        .get('mcubus_bus_errors_total')!
        .samples.filter((s) => s.labels.bus === bus)
        .reduce((sum, s) => sum + s.value, 0);
    expect(errors('uart0')).toBeGreaterThan(0);
    expect(errors('rs485')).toBe(0);
    for (const s of m.get('mcubus_bus_errors_total')!.samples) expect(s.labels.cause).toMatch(/^[a-z_]+$/);

    // Per device: traffic both ways (through the gateway too), requests, RTTs, health, clocks.
    for (const device of DEVICES) {
      expect(
        sampleValue(m, 'mcubus_device_frames_total', { device, direction: 'rx' }),
        device,
      ).toBeGreaterThan(5);
      expect(
        sampleValue(m, 'mcubus_device_frames_total', { device, direction: 'tx' }),
        device,
      ).toBeGreaterThan(0);
      expect(sampleValue(m, 'mcubus_device_requests_total', { device })).toBeGreaterThan(0);
      const rttCount = sampleValue(m, 'mcubus_device_rtt_seconds_count', { device });
      expect(rttCount, device).toBeGreaterThan(0);
      const meanRtt = sampleValue(m, 'mcubus_device_rtt_seconds_sum', { device }) / rttCount;
      expect(meanRtt, device).toBeGreaterThan(0);
      expect(meanRtt, device).toBeLessThan(0.2);
      expect(stateOf(m, 'mcubus_device_health_state', { device })).toBe('up');
      expect(sampleValue(m, 'mcubus_device_clock_synced', { device })).toBe(1);
      const bound = sampleValue(m, 'mcubus_device_clock_bound_seconds', { device });
      expect(Number.isFinite(bound) && bound > 0, `${device} bound ${bound}`).toBe(true);
      // Microseconds, not milliseconds: the alignment is that good on the simulated board — plus, for
      // the Modbus slave, the RTU line's asymmetry allowance (t3.5 / 2 = 1003 µs at 19 200 baud,
      // docs/time.md), which no number of exchanges can remove.
      expect(bound).toBeLessThan(device === '0x30' ? 1003e-6 + 100e-6 : 100e-6);
      expect(sampleValue(m, 'mcubus_device_reset_count', { device })).toBe(0);
    }
    // Requests to the nodes behind the gateway cross UART and CAN both ways: slower than the gateway's.
    const mean = (device: string) =>
      sampleValue(m, 'mcubus_device_rtt_seconds_sum', { device }) /
      sampleValue(m, 'mcubus_device_rtt_seconds_count', { device });
    expect(mean('0x21')).toBeGreaterThan(mean('0x10'));
    // The exposition's RTT sums are the ones the daemon's own ping reports.
    const before = sampleValue(m, 'mcubus_device_rtt_seconds_sum', { device: '0x22' });
    const ping = await settle(board, daemon.ping(0x22));
    expect(ping.ok).toBe(true);
    const afterPing = await scrape(socketPath, metrics.contentType);
    // Nothing else asks 0x22 anything meanwhile (its heartbeats are on time: no probes).
    expect(
      sampleValue(afterPing, 'mcubus_device_rtt_seconds_count', { device: '0x22' }) -
        sampleValue(m, 'mcubus_device_rtt_seconds_count', { device: '0x22' }),
    ).toBe(1);
    expect(sampleValue(afterPing, 'mcubus_device_rtt_seconds_sum', { device: '0x22' }) - before).toBeCloseTo(
      ping.rttMs! / 1000,
      9,
    );

    // Node process metrics from the same registry.
    expect(sampleValue(m, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');

    // At 16 s node-a loses power and node-m crashes (and reboots).
    await advance(board, 5);
    const retriesBefore = sampleValue(
      await scrape(socketPath, metrics.contentType),
      'mcubus_device_request_retries_total',
      { device: '0x21' },
    );
    const dead = await settle(board, daemon.ping(0x21, 100));
    expect(dead.ok).toBe(false);
    const after = await scrape(socketPath, metrics.contentType);
    expect(stateOf(after, 'mcubus_device_health_state', { device: '0x21' })).toBe('down');
    expect(sampleValue(after, 'mcubus_device_health_state', { device: '0x21', state: 'up' })).toBe(0);
    expect(sampleValue(after, 'mcubus_device_reset_count', { device: '0x30' })).toBe(1);
    // The ping was sent four times (requestRetries 3) and failed for want of an answer.
    expect(
      sampleValue(after, 'mcubus_device_request_retries_total', { device: '0x21' }) - retriesBefore,
    ).toBe(3);
    expect(
      sampleValue(after, 'mcubus_device_request_failures_total', { device: '0x21', cause: 'timeout' }),
    ).toBeGreaterThanOrEqual(1);
    for (const device of ['0x10', '0x22']) {
      expect(stateOf(after, 'mcubus_device_health_state', { device })).toBe('up');
    }
  });

  it("shows an update's phase and progress while it runs, and its end", async () => {
    const { board, daemon, socketPath, metrics } = await start(referenceBoard(), 42, {
      trustedKeys: [SIM_SIGNING_KEY.publicKey],
    });
    await advance(board, 5);
    const image = buildSignedImage(
      { hardwareId: 'mcubus-ref-node', kind: 0, version: [1, 1, 0], size: 40 * 1024 },
      SIM_SIGNING_KEY.privateKey,
    );
    const done = daemon.update(0x21, image, { trialMs: 2000 });
    await untilTransferring(board, daemon);
    const mid = await scrape(socketPath, metrics.contentType);
    const view = daemon.updates().find((u) => u.device === 0x21)!;
    const labels = { device: '0x21', kind: view.kind, version: '1.1.0' };
    expect(stateOf(mid, 'mcubus_device_update_phase', labels)).toBe('transfer');
    const size = sampleValue(mid, 'mcubus_device_update_size_bytes', { device: '0x21' });
    expect(size).toBe(view.size);
    const acked = sampleValue(mid, 'mcubus_device_update_done_bytes', { device: '0x21' });
    expect(acked).toBeGreaterThan(0);
    expect(acked).toBeLessThan(size);

    const result = await settle(board, done, 200_000);
    expect(result.phase).toBe('done');
    const end = await scrape(socketPath, metrics.contentType);
    expect(stateOf(end, 'mcubus_device_update_phase', labels)).toBe('done');
    expect(sampleValue(end, 'mcubus_device_update_done_bytes', { device: '0x21' })).toBe(size);
    expect(
      sampleValue(end, 'mcubus_device_update_rate_bytes_per_second', { device: '0x21' }),
    ).toBeGreaterThan(0);
  });
});

/** Advances virtual time until 0x21's update is transferring with some bytes acknowledged. */
async function untilTransferring(board: SimBoard, daemon: Daemon): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const u = daemon.updates().find((x) => x.device === 0x21);
    if (u && u.phase === 'transfer' && u.acked > 0) return;
    await advance(board, 0.02, 5);
  }
  throw new Error(`the update never transferred: ${JSON.stringify(daemon.updates())}`);
}
