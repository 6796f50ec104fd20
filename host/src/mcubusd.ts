#!/usr/bin/env node
import type { KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SIM_SIGNING_KEY } from '@mcubus/firmware-sim';
import { pino } from 'pino';
import { type ApiServerHandle, clearStaleSocket, startApiServer } from './api/server.js';
import { startRotatingCapture } from './capture/rotating-capture.js';
import { formatStatus } from './cli/format.js';
import { embeddedDefaultConfig } from './config/default.js';
import { formatConfigError } from './config/errors.js';
import { loadConfig } from './config/parse.js';
import type { DaemonConfig } from './config/types.js';
import { Daemon } from './daemon/daemon.js';
import { pinnedRoutes } from './daemon/pinned-routes.js';
import { type Runtime, realRuntime } from './daemon/runtime.js';
import { startEmbeddedBoard } from './daemon/sim-board.js';
import { transportsFromConfig } from './daemon/transports-from-config.js';
import { FleetClient } from './fleet/fleet-client.js';
import { createMetrics } from './metrics/metrics.js';
import { TrafficCounter } from './metrics/traffic.js';
import { Registry } from './registry/registry.js';
import { SystemdNotifier } from './systemd/notify.js';
import { readPublicKey } from './update/image-files.js';

export const VERSION = '0.1.0';

const HELP = `mcubusd — the mcubus host daemon: finds the MCUs on every configured bus, keeps a registry of them,
and serves the control API that the mcubus CLI uses.

Usage:
  mcubusd [--config FILE] [--live] [--log-level LEVEL]

Options:
  --config FILE   YAML configuration (docs/configuration.md). Without it: the embedded default, a
                  simulated reference board (gateway on UART, two MCUs behind it on CAN, one on Modbus).
  --live          print the status table every 2 s on standard output (JSON logs then go to standard error)
  --log-level     trace | debug | info | warn | error (overrides the configuration)
  --help          this text

Stops cleanly on SIGINT/SIGTERM: closes the ports, flushes the registry and the journal.
Exit status: 0 clean stop, 2 bad configuration or usage, 1 fatal error at start.`;

async function main(argv: string[]): Promise<number> {
  let values: { config?: string; live?: boolean; 'log-level'?: string; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        live: { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`mcubusd: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let config: DaemonConfig;
  if (values.config) {
    const loaded = await loadConfig(values.config);
    if (!loaded.ok) {
      console.error(`mcubusd: the configuration has ${loaded.error.length} problem(s):`);
      for (const e of loaded.error) console.error(`  ${formatConfigError(e)}`);
      return 2;
    }
    config = loaded.value;
  } else {
    config = embeddedDefaultConfig();
  }
  const level = values['log-level'] ?? config.log.level;
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(level)) {
    console.error(`mcubusd: --log-level must be trace, debug, info, warn or error, not "${level}"`);
    return 2;
  }
  // Before the state directory and the buses are opened: a second daemon on the same socket would
  // otherwise drive the buses and write to the journal of the one running, until its API failed.
  try {
    await clearStaleSocket(config.api.socket);
  } catch (e) {
    console.error(`mcubusd: ${(e as Error).message}`);
    return 1;
  }
  // With --live the table owns standard output; JSON logs go to standard error.
  const log = pino({ level, base: { service: 'mcubusd' } }, pino.destination(values.live ? 2 : 1));

  mkdirSync(config.stateDir, { recursive: true });
  const registry = Registry.open(config.stateDir);
  const embedded = config.simulator ? startEmbeddedBoard(config.simulator) : null;
  const runtime: Runtime = embedded?.runtime ?? realRuntime();
  // Frames and bytes per bus and device, for /metrics.
  const traffic = new TrafficCounter();
  const transports = traffic.wrap(
    transportsFromConfig(config, { runtime, board: embedded?.board ?? null, log }),
  );
  let trustedKeys: KeyObject[];
  try {
    trustedKeys = config.updates.trustedKeys.map(readPublicKey);
  } catch (e) {
    console.error(`mcubusd: updates.trustedKeys: ${(e as Error).message}`);
    return 2;
  }
  // The simulated MCUs trust the simulator's own signing key: so does a daemon driving them.
  if (embedded) trustedKeys.push(SIM_SIGNING_KEY.publicKey);
  const daemon = new Daemon({
    version: VERSION,
    transports,
    runtime,
    registry,
    log,
    random: Math.random,
    routes: pinnedRoutes(config),
    requestTimeoutMs: config.services.requestTimeoutMs,
    requestRetries: config.services.requestRetries,
    traceRetainMs: config.services.traceRetainHours * 3_600_000,
    registerProbes: config.buses.flatMap((b) =>
      b.type === 'modbus'
        ? b.registerProbes.map((p) => ({
            bus: b.name,
            slave: p.slave,
            fn: p.function,
            start: p.start,
            quantity: p.quantity,
            ...(p.expect ? { expect: p.expect } : {}),
          }))
        : [],
    ),
    ...(config.services.heartbeatPeriodMs !== undefined
      ? { heartbeatPeriodMs: config.services.heartbeatPeriodMs }
      : {}),
    // The time-sync exchange rate adapts below this period (docs/time.md).
    time: { estimator: { maxPeriodUs: config.services.timeSyncPeriodMs * 1000 } },
    trustedKeys,
    updateStall: {
      stallMs: config.updates.stallTimeoutS * 1000,
      minProgressBytes: config.updates.minProgressBytes,
    },
  });
  embedded?.driver.start();
  // Opened before the buses start, so that the capture holds their first frames.
  const capture = config.capture?.enabled
    ? startRotatingCapture({
        ...config.capture,
        open: (buses, sink) => daemon.capture(buses, sink),
        nowWallMs: () => runtime.nowMs(),
        log,
      })
    : null;
  await daemon.start();
  // Sparkplug B over MQTT (docs/fleet.md), off unless configured; it connects in the background.
  let fleet: FleetClient | null = null;
  try {
    fleet = config.fleet
      ? FleetClient.start({
          config: config.fleet,
          api: daemon,
          trustedKeys,
          stateDir: config.stateDir,
          log,
          traffic: () => traffic.snapshot(),
        })
      : null;
  } catch (e) {
    console.error(`mcubusd: ${(e as Error).message}`);
    await daemon.stop();
    registry.close();
    return 2;
  }
  const metrics = createMetrics(daemon, { version: VERSION, traffic });
  let api: ApiServerHandle;
  try {
    api = await startApiServer(daemon, {
      socketPath: config.api.socket,
      socketMode: config.api.socketMode,
      ...(config.api.tcp ? { tcp: config.api.tcp } : {}),
      log: (msg, data) => log.info(data ?? {}, msg),
      metrics,
    });
  } catch (e) {
    // A socket a live daemon holds, a TCP port in use, …: a daemon nobody can reach must not go on
    // holding the buses (it used to, with the error printed, until killed). Stop everything, exit 1.
    console.error(`mcubusd: the control API did not start: ${(e as Error).message}`);
    await fleet?.close();
    metrics.close();
    await daemon.stop();
    capture?.close();
    embedded?.driver.stop();
    registry.close();
    log.flush();
    return 1;
  }
  log.info(
    { socket: config.api.socket, stateDir: config.stateDir, buses: transports.map((t) => t.name) },
    'mcubusd ready',
  );
  // Under systemd (Type=notify): ready now that the API answers, then watchdog pings.
  const systemd = SystemdNotifier.fromEnv({ log });
  systemd?.ready(`serving ${transports.length} bus(es), API on ${config.api.socket}`);

  const live = values.live
    ? setInterval(
        () => process.stdout.write(`\x1b[2J\x1b[H${formatStatus(daemon.status(), Date.now())}\n`),
        2000,
      )
    : null;
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (live) clearInterval(live);
  log.info({}, 'stopping');
  systemd?.stopping();
  await fleet?.close();
  metrics.close();
  await api.close();
  await daemon.stop();
  capture?.close();
  embedded?.driver.stop();
  registry.close();
  log.flush();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(`mcubusd: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);
