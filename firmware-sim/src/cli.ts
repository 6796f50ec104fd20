#!/usr/bin/env node
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBoard } from './board/build.js';
import { NS_PER_S } from './kernel/scheduler.js';
import { crashOnBoot, isVersionText } from './process/crash-on-boot.js';
import { keepFlashInFile } from './process/flash-file.js';
import { PtyBridge, type PtyPeer } from './process/pty-bridge.js';
import { RealtimeDriver } from './process/realtime.js';
import { loadScenario } from './process/scenario-file.js';
import { SlcanAdapterSim } from './process/slcan-adapter.js';
import { FlashStorage } from './update/flash-storage.js';

const HELP = `mcubus-sim — a simulated multi-MCU board for mcubus.

Usage:
  mcubus-sim [--scenario reference|FILE.json] [--seed N] [--pty-dir DIR] [--flash-dir DIR]
             [--crash-version X.Y.Z]
      Runs the board in real time and exposes each line the host is attached to as a pseudo-terminal:
      UART and Modbus RTU lines as they are, a CAN bus as a simulated USB-CAN adapter speaking slcan.
      Open them with any serial library at the printed baud rate. Prints one JSON line per port, then
      {"ready":true}. Stops on SIGINT/SIGTERM. Needs socat.
  mcubus-sim --duration SECONDS [--scenario …] [--seed N]
      Runs the board as fast as possible for SECONDS of simulated time, without ports, and prints
      {"simulatedS","wallS","speed","events","digest"}: the same seed always gives the same digest.

Options:
  --scenario   'reference' (default: gateway on UART, two CAN nodes behind it, one Modbus node) or a
               JSON BoardSpec file
  --seed       seed of every random choice (default 1)
  --pty-dir    where to create the port links (default: a new directory under the system temp dir)
  --flash-dir  keep each MCU's flash in DIR/<mcu>.flash, written through at every flash operation: a
               simulator killed and started again (a power cut) boots from what its flash held
  --crash-version
               the application of this version crashes 200 ms after every boot (a bad build: an
               update to it is rolled back)
  --help       this text`;

async function main(argv: string[]): Promise<number> {
  let values: {
    scenario?: string;
    seed?: string;
    'pty-dir'?: string;
    'flash-dir'?: string;
    'crash-version'?: string;
    duration?: string;
    help?: boolean;
  };
  try {
    values = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string' },
        seed: { type: 'string' },
        'pty-dir': { type: 'string' },
        'flash-dir': { type: 'string' },
        'crash-version': { type: 'string' },
        duration: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`mcubus-sim: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const seed = Number(values.seed ?? 1);
  if (!Number.isInteger(seed)) {
    console.error(`mcubus-sim: --seed must be an integer, not ${values.seed}`);
    return 2;
  }
  let spec: ReturnType<typeof loadScenario>;
  try {
    spec = loadScenario(values.scenario ?? 'reference');
  } catch (e) {
    console.error(`mcubus-sim: ${(e as Error).message}`);
    return 2;
  }
  const crashVersion = values['crash-version'];
  if (crashVersion !== undefined && !isVersionText(crashVersion)) {
    console.error(`mcubus-sim: --crash-version must look like 1.2.0, not ${crashVersion}`);
    return 2;
  }
  const board = buildBoard(spec, seed, { traceKeep: 0 });
  const closeFlashFiles: (() => void)[] = [];
  for (const mcu of board.mcus.values()) {
    if (crashVersion !== undefined) crashOnBoot(mcu, crashVersion);
    const flashDir = values['flash-dir'];
    if (flashDir !== undefined && mcu.storage instanceof FlashStorage) {
      try {
        mkdirSync(flashDir, { recursive: true });
        closeFlashFiles.push(keepFlashInFile(mcu.storage.flash, flashDir, mcu.name));
      } catch (e) {
        console.error(`mcubus-sim: ${(e as Error).message}`);
        return 2;
      }
    }
  }

  if (values.duration !== undefined) {
    const seconds = Number(values.duration);
    if (!(seconds > 0)) {
      console.error(`mcubus-sim: --duration must be a positive number of seconds, not ${values.duration}`);
      return 2;
    }
    const start = process.hrtime.bigint();
    board.sim.runFor(seconds * NS_PER_S);
    const wallS = Number(process.hrtime.bigint() - start) / 1e9;
    console.log(
      JSON.stringify({
        simulatedS: seconds,
        wallS,
        speed: seconds / wallS,
        events: board.sim.scheduler.executed,
        digest: board.sim.trace.digest(),
      }),
    );
    return 0;
  }

  const dir = values['pty-dir'] ?? mkdtempSync(join(tmpdir(), 'mcubus-sim-'));
  mkdirSync(dir, { recursive: true });
  const driver = new RealtimeDriver(board.sim);
  const bridges: PtyBridge[] = [];
  // External devices' ends are served like the host's: another process opens that pty.
  for (const port of [...board.hostPorts.values(), ...board.externalPorts.values()]) {
    const bus = spec.buses.find((x) => x.name === port.bus);
    let peer: PtyPeer;
    let baud: number;
    if (port.kind === 'can') {
      // The host reaches a CAN bus through a USB-CAN adapter: simulate one speaking slcan.
      const bitrate = bus?.kind === 'can' ? bus.bitrate : 500_000;
      let sink: (bytes: Uint8Array) => void = () => {};
      const adapter = new SlcanAdapterSim(port.port, (bytes) => sink(bytes), bitrate);
      peer = {
        fromHost: (bytes) => adapter.push(bytes),
        toHost: (listener) => {
          sink = listener;
        },
      };
      baud = 115200;
    } else {
      const endpoint = port.endpoint;
      peer = {
        fromHost: (bytes) => endpoint.write(bytes),
        toHost: (listener) => endpoint.onReceive((bytes) => listener(bytes)),
      };
      baud = port.baud;
    }
    const bridge = new PtyBridge(port.bus, dir, peer, driver, baud);
    try {
      await bridge.open();
    } catch (e) {
      console.error(`mcubus-sim: ${(e as Error).message}`);
      for (const x of bridges) await x.close();
      return 1;
    }
    bridges.push(bridge);
    const frame =
      bus && bus.kind !== 'can' ? (bus.frame ?? (bus.kind === 'uart' ? '8N1' : '8E1')) : undefined;
    const protocol = port.kind === 'can' ? 'slcan' : undefined;
    console.log(
      JSON.stringify({
        port: port.bus,
        kind: port.kind,
        path: bridge.path,
        baud,
        frame,
        protocol,
        ...('device' in port ? { external: port.device } : {}),
      }),
    );
  }
  driver.start();
  console.log(JSON.stringify({ ready: true, seed, scenario: spec.name }));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  driver.stop();
  for (const b of bridges) await b.close();
  for (const close of closeFlashFiles) close();
  console.log(
    JSON.stringify({
      stopped: true,
      simulatedS: board.sim.now / NS_PER_S,
      events: board.sim.scheduler.executed,
    }),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`mcubus-sim: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  },
);
