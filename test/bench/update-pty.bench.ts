import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  signForSimulator,
  startDaemonProcess,
  uartDaemonConfig,
  updateEnded,
} from '../support/daemon-process.js';
import { commandAvailable } from '../support/requirements.js';
import { eventually, startSimulator } from '../support/sim-process.js';
import { type BenchResult, result } from './harness.js';

/**
 * Updates between real processes in real time (issue 7): mcubusd opens a pty with serialport, as it
 * would /dev/ttyUSB0, and behind it `mcubus-sim` runs one MCU whose UART is paced at the line's baud
 * rate with 1e-5 bit errors. A 256 KiB image; goodput as the daemon reports it (acknowledged bytes
 * over the transfer's duration).
 */
const SIZE = 256 * 1024;

async function runPty(baud: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-pty-bench-'));
  const children: ChildProcess[] = [];
  try {
    const scenario = join(dir, 'board.json');
    writeFileSync(
      scenario,
      JSON.stringify({
        name: 'pty-bench',
        buses: [{ kind: 'uart', name: 'uart0', baud, ends: ['host', 'dev'], bitErrorRate: 1e-5 }],
        host: { buses: ['uart0'] },
        mcus: [
          {
            name: 'dev',
            address: 0x10,
            hardwareId: 'mcubus-bench',
            // A 4 KiB DMA ring, as update-capable firmware at 921 600 baud has: a 20 ms sector
            // erase stalls the CPU while 1.8 KiB arrive.
            ports: [{ bus: 'uart0', rxFifoBytes: 4096 }],
            watchdogMs: 500,
            flashSectors: 640,
          },
        ],
      }),
    );
    const sim = await startSimulator(['--scenario', scenario, '--pty-dir', dir, '--seed', '1']);
    children.push(sim.child);
    const uart = sim.ports.find((p) => p.port === 'uart0')!;
    const image = join(dir, 'app.bin');
    const bytes = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 31) & 0xff));
    const pub = await signForSimulator(dir, image, bytes, 'mcubus-bench', '3.0.0');
    const config = uartDaemonConfig(dir, [{ name: 'uart0', port: uart.path, baud }], [pub]);
    const daemon = await startDaemonProcess(dir, config, { fromSource: true });
    children.push(daemon.child);
    const client = daemon.client;
    await eventually(
      async () => ((await client.devices()).length === 1 ? true : undefined),
      20_000,
      'the device',
    );
    await client.startUpdate(0x10, { image, trialMs: 500 });
    const done = await updateEnded(client, 0x10, 600_000, daemon.log);
    if (done.phase !== 'done') throw new Error(`update ${done.phase}: ${done.detail}`);
    return done.rateBps ?? 0;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  const socat = commandAvailable('socat', 'apt-get install socat');
  if (!socat.ok) {
    console.error(`update-pty.bench.ts: skipped (${socat.reason})`);
    return [];
  }
  const out: BenchResult[] = [];
  for (const [baud, target] of [
    [115_200, 0.9],
    [921_600, 0.85],
  ] as const) {
    const g = await runPty(baud);
    out.push(
      result(
        `update.uart${baud}.pty`,
        g,
        'B/s',
        baud / 10,
        `real processes over a pty in real time, 1e-5 bit errors; ceiling: 8N1 line rate; target ≥ ${target}`,
      ),
    );
  }
  return out;
}
