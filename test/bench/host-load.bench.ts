import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BoardSpec, McuSpec } from '@mcubus/firmware-sim';
import { ApiClient } from '@mcubus/host';
import { eventually, startSimulator } from '../support/sim-process.js';
import { type BenchResult, result } from './harness.js';

const GATEWAYS = 8;
const NODES_PER_GATEWAY = 7; // 8 + 56 = 64 devices
const MEASURE_S = Number(process.env.MCUBUS_BENCH_HOST_SECONDS ?? 20);

/** 64 devices: 8 UART gateways at 921600 baud, 7 CAN nodes behind each; 10 Hz heartbeats; 2 000 samples/s. */
function bigBoard(): BoardSpec {
  const buses: BoardSpec['buses'][number][] = [];
  const mcus: McuSpec[] = [];
  const telemetry = {
    periodMs: 32,
    samplesPerFrame: 8,
    channels: [{ channel: 1, signal: 'supplyCurrent_mA' as const }],
  };
  for (let g = 0; g < GATEWAYS; g++) {
    buses.push({ kind: 'uart', name: `u${g}`, baud: 921_600, ends: ['host', `gw${g}`] });
    buses.push({ kind: 'can', name: `c${g}`, bitrate: 1_000_000 });
    mcus.push({
      name: `gw${g}`,
      address: 0x10 + g,
      hardwareId: 'load-gw',
      ports: [{ bus: `u${g}` }, { bus: `c${g}` }],
      gateway: {},
      heartbeatPeriodMs: 100,
      telemetry,
      clock: { skewPpm: g * 10 - 40 },
    });
    for (let n = 0; n < NODES_PER_GATEWAY; n++) {
      mcus.push({
        name: `n${g}-${n}`,
        address: 0x40 + g * NODES_PER_GATEWAY + n,
        hardwareId: 'load-node',
        ports: [{ bus: `c${g}` }],
        heartbeatPeriodMs: 100,
        telemetry,
        clock: { skewPpm: n * 7 - 20 },
        powerOnAtMs: n * 3 + g,
      });
    }
  }
  return {
    name: 'host-load',
    buses,
    mcus,
    host: { buses: buses.filter((b) => b.kind === 'uart').map((b) => b.name) },
  };
}

function cpuSeconds(pid: number): number {
  // utime + stime, in clock ticks (100 per second on Linux).
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-load-'));
  const children: ChildProcess[] = [];
  try {
    const scenario = join(dir, 'board.json');
    writeFileSync(scenario, JSON.stringify(bigBoard()));
    const sim = await startSimulator(['--pty-dir', dir, '--scenario', scenario, '--seed', '1']);
    children.push(sim.child);
    const buses = sim.ports
      .map((p) => `  - name: ${p.port}\n    type: uart\n    port: ${p.path}\n    baud: ${p.baud}\n`)
      .join('');
    const config = join(dir, 'mcubus.yaml');
    writeFileSync(
      config,
      `stateDir: ${dir}/state\napi:\n  socket: ${dir}/mcubusd.sock\nlog:\n  level: warn\nbuses:\n${buses}`,
    );
    // The compiled daemon, as it runs on a board (npm run bench builds first).
    const daemon = spawn(
      process.execPath,
      [
        ...(process.env.MCUBUS_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/dprof'] : []),
        join(import.meta.dirname, '../../host/dist/mcubusd.js'),
        '--config',
        config,
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    children.push(daemon);
    const client = new ApiClient({ socketPath: `${dir}/mcubusd.sock` });
    await eventually(
      async () => ((await client.devices().catch(() => [])).length === 64 ? true : undefined),
      60_000,
      '64 devices discovered',
    );
    const pid = daemon.pid!;
    const cpu0 = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, MEASURE_S * 1000));
    const load = (cpuSeconds(pid) - cpu0) / (Number(process.hrtime.bigint() - t0) / 1e9);
    const rss = rssMb(pid);
    const received = (await client.status()).buses.reduce((s, b) => s + (b.counters.link_received ?? 0), 0);
    return [
      result(
        'host.cpu_load',
        load,
        'cores',
        0.05,
        `mcubusd CPU over ${MEASURE_S} s with 64 devices (10 Hz heartbeats, 2000 samples/s) in another process; ${received} frames received in all; ceiling = the 0.05 target`,
      ),
      result(
        'host.rss_mb',
        rss,
        'MiB',
        100,
        'mcubusd resident memory at the end of the load run; ceiling = the 100 MiB target',
      ),
    ];
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000)); // let the daemon flush its registry (and a profile) on SIGTERM
    rmSync(dir, { recursive: true, force: true });
  }
}
