import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeEnvelope, decodeManifest } from '@mcubus/protocol';
import { formatAddress, parseAddress } from '../api/http-util.js';
import { candumpCommand } from '../commands/candump.js';
import { decodeCommand } from '../commands/decode.js';
import { demoCommand } from '../commands/demo.js';
import { imageCommand } from '../commands/image.js';
import type { TraceOutcome, TraceQuery } from '../trace/trace-record.js';
import { manifestPathFor, readManifestFile } from '../update/image-files.js';
import { CAPTURE_HELP, captureCommand } from './capture.js';
import { ApiClient, ApiResponseError, DaemonUnreachableError } from './client.js';
import {
  deviceTable,
  formatDevice,
  formatEvent,
  formatHealth,
  formatPing,
  formatStatus,
  healthTable,
  table,
  telemetryTable,
  timeTable,
  updateFinished,
  updateLine,
  updateTable,
} from './format.js';
import { formatTrace, traceTable } from './trace-format.js';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** Environment for MCUBUS_SOCKET / MCUBUS_TOKEN; default process.env. */
  env?: Record<string, string | undefined>;
  /** Clock for "3 s ago"; default Date.now. */
  now?: () => number;
  /** Ends `events --follow` and `health --watch` (exit 0). */
  signal?: AbortSignal;
}

export const DEFAULT_SOCKET = './.mcubus-state/mcubusd.sock';

/** Exit codes: 0 success, 1 request failed, 2 bad usage, 3 daemon not running. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notRunning: 3 } as const;

const GLOBAL_OPTIONS = `Global options (every daemon command):
  --socket PATH   daemon socket (default $MCUBUS_SOCKET or ${DEFAULT_SOCKET})
  --url URL       talk to the daemon over HTTP instead (e.g. http://board:7600)
  --token TOKEN   bearer token for --url (default $MCUBUS_TOKEN)
  --json          machine-readable output
  -h, --help      help for the command`;

const HELP = `mcubus — coordinate the MCUs of a board: firmware updates, clock alignment, health.

Usage:
  mcubus status                 daemon, devices and buses at a glance
  mcubus devices [ADDR]         the known devices (or one device in detail)
  mcubus events [--follow] [--device ADDR] [--limit N]
                                recent events; --follow streams new ones
  mcubus health [ADDR] [--watch [--interval MS]] [--limit N]
                                liveness and health of every device (or one, with its
                                history); --watch redraws until Ctrl-C
  mcubus time                   every device clock against the host's: offset, skew, error bound
  mcubus telemetry [--aligned] [--device ADDR] [--channel N] [--limit N]
                                stored telemetry; --aligned puts all devices on the host timeline
  mcubus trace [--device ADDR] [--problems] [--type T] [--bus B] [--limit N]
                                what became of each message: answered, retried, lost on which hop
  mcubus trace ID               one message's path hop by hop on the host timeline
  mcubus update ADDR IMAGE [--manifest M] [--allow-downgrade]
                                update a device's firmware (or bootloader) with a signed image,
                                with live progress; mcubus update status | cancel ADDR
  mcubus image keygen|sign|inspect …
                                Ed25519 keys, signed manifests, and a look at an image (local)
  mcubus ping ADDR [--timeout MS]
                                ping a device (ADDR decimal or 0x hex)
  mcubus send ADDR TYPE [JSON-BODY] [--timeout MS]
                                send any request message and print the answer
  mcubus capture [--bus NAME[,NAME…]] --out FILE.pcapng [--count N] [--duration S]
                                record the buses' traffic for Wireshark (tools/wireshark/mcubus.lua)
  mcubus candump decode LOG | to-pcapng LOG --out F | from-pcapng F [--out LOG]
                                CAN captures in candump log format: decode one with the daemon's
                                own ISO-TP and frame decoders, or convert to/from pcapng (local)
  mcubus demo                   show a host↔device exchange on a UART, with line noise, decoded back
  mcubus decode HEX…            decode one mcubus frame given in hex
  mcubus decode --stream HEX…   decode a UART byte stream (COBS frames separated by 00)
  mcubus COMMAND --help         help for a command

${GLOBAL_OPTIONS}

The protocol is specified in docs/protocol.md, the control API in docs/api.md.

Exit status: 0 success, 1 a request failed (or a frame failed to decode), 2 bad usage,
3 mcubusd is not running.`;

const COMMAND_HELP: Record<string, string> = {
  status: `Usage: mcubus status [--json]

Shows the daemon version and uptime, a table of the devices (address, name, bus, route, mode,
firmware and bootloader versions, last seen) and one line per bus with its state.`,
  devices: `Usage: mcubus devices [ADDR] [--json]

Lists the known devices, or shows one device (ADDR decimal or 0x hex) in detail.`,
  events: `Usage: mcubus events [--follow] [--device ADDR] [--limit N] [--json]

Prints the most recent events (default 20), oldest first. --follow then keeps printing new events as
they happen until interrupted; with --json each event is one JSON line.`,
  health: `Usage: mcubus health [ADDR] [--watch [--interval MS]] [--limit N] [--json]

Without ADDR: a table of every device's liveness and health — address, name, state (up, suspect,
down, unreachable, bootloader, updating, safe, degraded, zombie), mode and health level from the last
heartbeat, route (direct or via a gateway), time since the last heartbeat, the expected heartbeat
interval, and the reset count (flagged "crash loop" when the device keeps resetting).

With ADDR: that device's health in detail, then its health history (state changes and resets),
newest first; --limit N keeps the N newest events (default chosen by the daemon).

--watch redraws every --interval MS (default 1000, 100–3600000) until Ctrl-C; with --json each
redraw is one JSON line.`,
  time: `Usage: mcubus time [ADDR] [--json]

One line per device clock (or the one at ADDR): how it is timed (direct exchanges with the host, or
via its gateway's reports), whether it is synced, its offset from the host clock (device − host, µs),
its rate difference (ppm, + = runs fast), the error bound of a device timestamp placed on the host
timeline now, the exchanges the fit uses / holds, the exchange period (or the age of the gateway's
map), and the clock epoch (a new one after each reboot). docs/time.md explains the method.`,
  telemetry: `Usage: mcubus telemetry [--aligned] [--device ADDR] [--channel N] [--limit N] [--json]

Prints the newest stored telemetry samples (default 20, at most 100000). Without --aligned: as the
devices sent them — raw device counter (µs), arrival time, value. With --aligned: every sample at the
host time it was taken (ISO 8601 with µs) with its error bound, all devices merged in the order their
samples were really taken; samples that arrived before their device's clock was known are listed
last as "not aligned yet". The raw device time is always kept.`,
  trace: `Usage: mcubus trace [--device ADDR] [--problems] [--type TYPE] [--bus BUS]
                    [--outcome OUTCOME] [--limit N] [--json]
       mcubus trace ID [--json]

Lists the newest message traces (default 20), oldest first: each request the host sent with what
became of it (answered, error, timeout; how many attempts; round trip), and each received frame
that was wrong (a duplicate, an answer to nothing open, undecodable).
For every retry and failure the HOP column names where the copy was lost — "uart0 host→0x10",
"can0 0x10→0x21" (request lost on the way down), "can0 0x21→0x10" (the answer lost on the way
back), "↔" when the direction cannot be told — and CAUSE says why. Losses behind a gateway are
placed with the gateway's own log of what it forwarded (TRACE_REQ), so they name the right hop.
--problems keeps only failures and retried requests. OUTCOME: answered, error, timeout, cancelled,
sent, duplicate, bad_frame.

With ID: that message's path hop by hop on the host timeline (gateway hops aligned from the
gateway's clock), then each loss. docs/observability.md "Tracing".`,
  update: `Usage: mcubus update ADDR IMAGE [--manifest M] [--allow-downgrade] [--chunk N] [--trial MS]
                     [--no-wait] [--json]
       mcubus update --all IMAGE… [--dry-run] [--allow-downgrade] [--trial MS] [--json]
       mcubus update status [--json]
       mcubus update cancel ADDR

Updates the device at ADDR with IMAGE (raw binary, or Intel HEX when it ends in .hex) and its signed
manifest (default IMAGE.manifest, made by \`mcubus image sign\`). The daemon refuses, before sending a
byte, an image whose signature does not verify with a trusted key, that is for another hardware id,
or that is not newer than what runs (--allow-downgrade sends it anyway; the device still refuses a
lower security counter). Then: transfer (resumes where the device stands after any interruption),
verify, activate, the new image boots in test mode, must stay healthy for --trial MS (default 5000),
and is confirmed; if it does not come up the device's bootloader reverts and the update ends
"rolled_back". Progress is shown until the end (exit 0 when done, 1 otherwise); --no-wait returns
once started. \`status\` lists updates under way and the last result per device.

--all updates every known device whose hardware id one of the IMAGEs is for, as a campaign: one
update at a time per bus, buses in parallel, nodes behind a gateway before the gateway. The plan is
printed first (--dry-run stops there); the campaign is kept by the daemon and carries on after a
daemon restart. docs/updates.md.`,
  image: `Usage: mcubus image keygen --out KEY.pem [--force] [--simulator]
       mcubus image sign IMAGE --key KEY.pem --hardware-id ID --version X.Y.Z
                         [--kind app|bootloader] [--security-counter N] [--load-address A] [--out M]
       mcubus image inspect IMAGE [--manifest M] [--key PUB.pem] [--json]

keygen writes an Ed25519 private key (PEM, mode 600) and KEY.pub.pem, the public key to list in the
daemon's updates.trustedKeys (--simulator writes the simulated board's fixed key instead, which its
MCUs trust: for trying updates on \`npm start\`; never for real parts). sign writes IMAGE.manifest: the manifest (hardware id, kind, version,
security counter, size, SHA-256) signed with the key. inspect shows a manifest, checks the image
against it and, with --key, the signature. IMAGE may be raw binary or Intel HEX (.hex).`,
  ping: `Usage: mcubus ping ADDR [--timeout MS] [--json]

Pings a device and prints the round-trip time. Exit status 1 when it does not answer.`,
  send: `Usage: mcubus send ADDR TYPE [JSON-BODY] [--timeout MS] [--json]

Sends a request message of TYPE (docs/protocol.md §4) with JSON-BODY (default {}) and prints the
answer. Exit status 1 when the request fails.`,
  candump: `Usage: mcubus candump decode LOG [--json]
       mcubus candump to-pcapng LOG --out FILE.pcapng
       mcubus candump from-pcapng FILE.pcapng [--out LOG]

Works on CAN captures in the candump log format ("(1436509052.249713) can0 18DA2110#1014…", what
\`candump -l\` writes and \`canplayer\` reads), without a running daemon.

decode replays the log through the receive code the daemon's CAN transport runs (one ISO-TP
receiver per node address, listening to every transfer, then the frame decoder): one line per
mcubus frame, ISO-TP errors (a transfer cut short) and undecodable frames, then which requests got no
answer on this bus and which were sent more than once. to-pcapng writes the frames as
LINKTYPE_CAN_SOCKETCAN for Wireshark; from-pcapng extracts the CAN frames of a pcapng capture (e.g.
\`mcubus capture\`) as a candump log. Bad lines are reported with their line number and skipped (exit 1).`,
  demo: 'Usage: mcubus demo\n\nShows a host↔device exchange on a UART, with line noise, decoded back.',
  decode: `Usage: mcubus decode [--stream] HEX…

Decodes one mcubus frame given in hex, or with --stream a UART byte stream (COBS frames separated
by 00).`,
  capture: CAPTURE_HELP,
};

class UsageError extends Error {}

/** The mcubus CLI; returns the exit status. Output goes to `io`, so tests need no subprocess. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const out = (s: string) => io.stdout.write(`${s}\n`);
  const err = (s: string) => io.stderr.write(`${s}\n`);
  const env = io.env ?? process.env;
  const now = io.now ?? Date.now;

  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    err(`mcubus: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  const [command = values.help ? 'help' : 'demo', ...rest] = positionals;
  if (command === 'help') {
    const topic = rest[0] && COMMAND_HELP[rest[0]];
    out(topic ? `${topic}\n\n${GLOBAL_OPTIONS}` : HELP);
    return EXIT.ok;
  }
  const help = COMMAND_HELP[command];
  if (help === undefined) {
    err(`mcubus: unknown command "${command}"\n\n${HELP}`);
    return EXIT.usage;
  }
  if (values.help) {
    out(
      command === 'demo' || command === 'decode' || command === 'candump'
        ? help
        : `${help}\n\n${GLOBAL_OPTIONS}`,
    );
    return EXIT.ok;
  }
  if (command === 'demo') return demoCommand();
  if (command === 'decode') return decodeCommand(rest, { stream: values.stream ?? false });
  if (command === 'candump')
    return candumpCommand(
      rest,
      { ...(values.out ? { out: values.out } : {}), ...(values.json ? { json: true } : {}) },
      { out, err },
    );
  if (command === 'image') {
    const o: Record<string, string | boolean> = {};
    for (const k of ['key', 'version', 'kind', 'out', 'manifest'] as const)
      if (values[k] !== undefined) o[k] = values[k]!;
    if (values['hardware-id'] !== undefined) o.hardwareId = values['hardware-id'];
    if (values['security-counter'] !== undefined) o.securityCounter = values['security-counter'];
    if (values['load-address'] !== undefined) o.loadAddress = values['load-address'];
    if (values.force) o.force = true;
    if (values.simulator) o.simulator = true;
    if (values.json) o.json = true;
    return imageCommand(rest, o, { out, err });
  }

  let client: ApiClient;
  let socketPath: string | undefined;
  try {
    if (values.url !== undefined) {
      try {
        new URL(values.url);
      } catch {
        throw new UsageError(`--url "${values.url}" is not a URL`);
      }
      const token = values.token ?? env.MCUBUS_TOKEN;
      client = new ApiClient(token ? { url: values.url, token } : { url: values.url });
    } else {
      if (values.token !== undefined) throw new UsageError('--token only applies with --url');
      socketPath = values.socket ?? env.MCUBUS_SOCKET ?? DEFAULT_SOCKET;
      client = new ApiClient({ socketPath });
    }
  } catch (e) {
    if (e instanceof UsageError) {
      err(`mcubus ${command}: ${e.message}\n\n${help}`);
      return EXIT.usage;
    }
    throw e;
  }

  const json = values.json ?? false;
  const printJson = (v: unknown) => out(JSON.stringify(v, null, 2));
  const timeout = () => optInt('--timeout', values.timeout, 1, 600_000);

  try {
    switch (command) {
      case 'status': {
        noArgs(rest, 0);
        const s = await client.status();
        out(json ? JSON.stringify(s, null, 2) : formatStatus(s, now()));
        return EXIT.ok;
      }
      case 'devices': {
        noArgs(rest, 1);
        if (rest[0] !== undefined) {
          const d = await client.device(address(rest[0]));
          out(json ? JSON.stringify(d, null, 2) : formatDevice(d, now()));
        } else {
          const ds = await client.devices();
          out(json ? JSON.stringify(ds, null, 2) : deviceTable(ds, now()));
        }
        return EXIT.ok;
      }
      case 'events': {
        noArgs(rest, 0);
        const device = values.device === undefined ? undefined : address(values.device);
        const limit = optInt('--limit', values.limit, 1, 10_000) ?? 20;
        const q: { device?: number; limit: number } = { limit };
        if (device !== undefined) q.device = device;
        const recent = [...(await client.events(q))].sort((a, b) => a.id - b.id);
        if (!values.follow) {
          if (json) printJson(recent);
          else if (recent.length === 0) out('no events');
          else for (const e of recent) out(formatEvent(e));
          return EXIT.ok;
        }
        for (const e of recent) out(json ? JSON.stringify(e) : formatEvent(e));
        const opts: { lastEventId?: number; device?: number; signal?: AbortSignal } = {};
        const newest = recent.at(-1);
        if (newest) opts.lastEventId = newest.id;
        if (device !== undefined) opts.device = device;
        if (io.signal) opts.signal = io.signal;
        await client.streamEvents((e) => out(json ? JSON.stringify(e) : formatEvent(e)), opts);
        if (!io.signal?.aborted) {
          err('mcubus events: the daemon closed the event stream');
          return EXIT.failed;
        }
        return EXIT.ok;
      }
      case 'health': {
        noArgs(rest, 1);
        const a = rest[0] === undefined ? undefined : address(rest[0]);
        const limit = optInt('--limit', values.limit, 1, 10_000);
        if (limit !== undefined && a === undefined) throw new UsageError('--limit only applies with ADDR');
        const intervalMs = optInt('--interval', values.interval, 100, 3_600_000);
        if (intervalMs !== undefined && !values.watch) {
          throw new UsageError('--interval only applies with --watch');
        }
        const draw = async (oneLine: boolean): Promise<string> => {
          const data = a === undefined ? await client.health() : await client.healthOf(a, limit);
          if (json) return oneLine ? JSON.stringify(data) : JSON.stringify(data, null, 2);
          return Array.isArray(data)
            ? healthTable(data, now())
            : formatHealth(data.health, data.history, now());
        };
        if (!values.watch) {
          out(await draw(false));
          return EXIT.ok;
        }
        const every = intervalMs ?? 1000;
        const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
        let frames = 0;
        while (!io.signal?.aborted) {
          const text = await draw(true);
          if (json) out(text);
          else {
            const title = `every ${every} ms, ${new Date(now()).toISOString()} — Ctrl-C to stop`;
            // On a terminal each frame replaces the last; elsewhere frames follow one another.
            const lead = tty ? '\x1b[H\x1b[2J' : frames > 0 ? '\n' : '';
            io.stdout.write(`${lead}${title}\n\n${text}\n`);
          }
          frames++;
          await sleep(every, io.signal);
        }
        return EXIT.ok;
      }
      case 'time': {
        noArgs(rest, 1);
        const a = rest[0] === undefined ? undefined : address(rest[0]);
        const all = await client.time();
        const list = a === undefined ? all : all.filter((t) => t.address === a);
        if (a !== undefined && list.length === 0) {
          err(`mcubus time: no clock known for ${formatAddress(a)}`);
          return EXIT.failed;
        }
        out(json ? JSON.stringify(a === undefined ? list : list[0], null, 2) : timeTable(list));
        return EXIT.ok;
      }
      case 'trace': {
        noArgs(rest, 1);
        if (rest[0] !== undefined) {
          if (!/^\d+$/.test(rest[0])) throw new UsageError(`trace id "${rest[0]}" is not a number`);
          const t = await client.trace(Number(rest[0]));
          out(json ? JSON.stringify(t, null, 2) : formatTrace(t));
          return EXIT.ok;
        }
        const q: TraceQuery = {
          limit: optInt('--limit', values.limit, 1, 100_000) ?? 20,
          ...(values.device !== undefined ? { device: address(values.device) } : {}),
          ...(values.problems ? { problems: true } : {}),
          ...(values.type !== undefined ? { type: values.type } : {}),
          ...(values.bus !== undefined ? { bus: values.bus } : {}),
          ...(values.outcome !== undefined ? { outcome: values.outcome as TraceOutcome } : {}),
        };
        const rows = await client.traces(q);
        out(json ? JSON.stringify(rows, null, 2) : traceTable(rows));
        return EXIT.ok;
      }
      case 'telemetry': {
        noArgs(rest, 0);
        const q: { device?: number; channel?: number; limit: number } = {
          limit: optInt('--limit', values.limit, 1, 100_000) ?? 20,
        };
        if (values.device !== undefined) q.device = address(values.device);
        const channel = optInt('--channel', values.channel, 0, 0xffff);
        if (channel !== undefined) q.channel = channel;
        const rows = await client.telemetry(q);
        out(json ? JSON.stringify(rows, null, 2) : telemetryTable(rows, values.aligned ?? false));
        return EXIT.ok;
      }
      case 'update': {
        if (rest[0] === 'status') {
          noArgs(rest, 1);
          const list = await client.updates();
          out(json ? JSON.stringify(list, null, 2) : updateTable(list));
          return EXIT.ok;
        }
        if (rest[0] === 'cancel') {
          noArgs(rest, 2, 2);
          const a = address(rest[1]!);
          await client.cancelUpdate(a);
          out(`${formatAddress(a)}: update cancelled`);
          return EXIT.ok;
        }
        if (values.all) return await updateAll(client, rest, values, { out, err, json, io });
        if (values['dry-run']) throw new UsageError('--dry-run only applies with --all');
        noArgs(rest, 2, 2);
        const a = address(rest[0]!);
        const chunk = optInt('--chunk', values.chunk, 16, 4096);
        const trial = optInt('--trial', values.trial, 0, 600_000);
        await client.startUpdate(a, {
          image: resolvePath(rest[1]!),
          ...(values.manifest !== undefined ? { manifest: resolvePath(values.manifest) } : {}),
          ...(values['allow-downgrade'] ? { allowDowngrade: true } : {}),
          ...(chunk !== undefined ? { chunkSize: chunk } : {}),
          ...(trial !== undefined ? { trialMs: trial } : {}),
        });
        if (values['no-wait']) {
          out(`${formatAddress(a)}: update started (mcubus update status)`);
          return EXIT.ok;
        }
        // Live progress: one line redrawn on a terminal, a line per change elsewhere.
        const tty = (io.stdout as { isTTY?: boolean }).isTTY === true;
        let last = '';
        for (;;) {
          const u = (await client.updates()).find((x) => x.device === a);
          if (u) {
            const line = json ? JSON.stringify(u) : updateLine(u);
            if (line !== last) {
              if (tty && !json) io.stdout.write(`\r\x1b[K${line}${updateFinished(u) ? '\n' : ''}`);
              else out(line);
              last = line;
            }
            if (updateFinished(u)) return u.phase === 'done' ? EXIT.ok : EXIT.failed;
          }
          if (io.signal?.aborted) return EXIT.ok;
          await sleep(500, io.signal);
        }
      }
      case 'capture': {
        noArgs(rest, 0);
        if (values.out === undefined) throw new UsageError('--out FILE is required');
        const count = optInt('--count', values.count, 1, 100_000_000);
        const duration = optInt('--duration', values.duration, 1, 86_400);
        const buses = (values.bus ?? '').split(',').filter((b) => b !== '');
        return await captureCommand(
          client,
          {
            buses,
            out: resolvePath(values.out),
            json,
            ...(count !== undefined ? { count } : {}),
            ...(duration !== undefined ? { durationMs: duration * 1000 } : {}),
          },
          { out, err, ...(io.signal ? { signal: io.signal } : {}) },
        );
      }
      case 'ping': {
        noArgs(rest, 1, 1);
        const a = address(rest[0]!);
        const r = await client.ping(a, timeout());
        out(json ? JSON.stringify(r, null, 2) : formatPing(a, r));
        return r.ok ? EXIT.ok : EXIT.failed;
      }
      case 'send': {
        noArgs(rest, 3, 2);
        const a = address(rest[0]!);
        const type = rest[1]!;
        let body: unknown = {};
        if (rest[2] !== undefined) {
          try {
            body = JSON.parse(rest[2]);
          } catch (e) {
            throw new UsageError(`JSON-BODY is not valid JSON: ${(e as Error).message}`);
          }
        }
        const r = await client.request(a, { type, body }, timeout());
        if (json) printJson(r);
        else if (r.ok && r.answer)
          out(`${formatAddress(a)} answered ${r.answer.type}: ${JSON.stringify(r.answer.body, null, 2)}`);
        else if (r.ok) out(`${formatAddress(a)}: ok`);
        else out(`${formatAddress(a)}: request failed${r.error ? `: ${r.error}` : ''}`);
        return r.ok ? EXIT.ok : EXIT.failed;
      }
    }
    return EXIT.usage;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`mcubus ${command}: ${e.message}\n\n${help}`);
      return EXIT.usage;
    }
    if (e instanceof DaemonUnreachableError) {
      const code = (e.cause as NodeJS.ErrnoException | undefined)?.code;
      if (socketPath !== undefined) {
        const why =
          code === 'ECONNREFUSED' ? `nothing listens on ${socketPath}` : `no socket at ${socketPath}`;
        err(
          `mcubus: mcubusd is not running (${why}); start it with \`npm start\` or \`mcubusd --config FILE\``,
        );
      } else {
        err(`mcubus: mcubusd is not reachable at ${e.target} (${code ?? e.message})`);
      }
      return EXIT.notRunning;
    }
    if (e instanceof ApiResponseError) {
      if (json) printJson({ error: { status: e.status, code: e.code, message: e.message } });
      err(`mcubus ${command}: ${e.message}`);
      return EXIT.failed;
    }
    err(`mcubus ${command}: ${(e as Error).message ?? String(e)}`);
    return EXIT.failed;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      json: { type: 'boolean' },
      socket: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      device: { type: 'string' },
      limit: { type: 'string' },
      timeout: { type: 'string' },
      watch: { type: 'boolean', short: 'w' },
      interval: { type: 'string' },
      stream: { type: 'boolean' },
      aligned: { type: 'boolean' },
      manifest: { type: 'string' },
      'allow-downgrade': { type: 'boolean' },
      chunk: { type: 'string' },
      trial: { type: 'string' },
      'no-wait': { type: 'boolean' },
      all: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      key: { type: 'string' },
      'hardware-id': { type: 'string' },
      version: { type: 'string' },
      kind: { type: 'string' },
      'security-counter': { type: 'string' },
      'load-address': { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      simulator: { type: 'boolean' },
      channel: { type: 'string' },
      problems: { type: 'boolean' },
      type: { type: 'string' },
      bus: { type: 'string' },
      outcome: { type: 'string' },
      count: { type: 'string' },
      duration: { type: 'string' },
    },
  });
}

/** `mcubus update --all IMAGE…`: one campaign for every device an image is for. */
async function updateAll(
  client: ApiClient,
  images: readonly string[],
  values: ReturnType<typeof parse>['values'],
  ctx: { out(s: string): void; err(s: string): void; json: boolean; io: CliIo },
): Promise<number> {
  if (images.length === 0) throw new UsageError('--all needs at least one IMAGE');
  if (values.manifest !== undefined)
    throw new UsageError('--manifest applies to one image; --all reads IMAGE.manifest');
  const devices = await client.devices();
  const items: { device: number; image: string }[] = [];
  for (const image of images) {
    const path = resolvePath(image);
    const hw = manifestHardwareId(manifestPathFor(path));
    if (typeof hw !== 'string') {
      ctx.err(`mcubus update: ${hw.error}`);
      return EXIT.failed;
    }
    const targets = devices.filter((d) => d.hardwareId === hw);
    if (targets.length === 0) {
      ctx.err(`mcubus update: no known device is a ${hw} (${image})`);
      return EXIT.failed;
    }
    for (const d of targets) {
      if (items.some((i) => i.device === d.address)) {
        ctx.err(`mcubus update: two images are for ${formatAddress(d.address)} (${hw})`);
        return EXIT.failed;
      }
      items.push({ device: d.address, image: path });
    }
  }
  const trial = optInt('--trial', values.trial, 0, 600_000);
  const r = await client.startCampaign({
    items,
    ...(values['allow-downgrade'] ? { allowDowngrade: true } : {}),
    ...(trial !== undefined ? { trialMs: trial } : {}),
    ...(values['dry-run'] ? { dryRun: true } : {}),
  });
  const planText = table(
    ['BUS', 'STEP', 'DEVICE', 'VERSION', 'PROBLEM'],
    r.plan.map((p) => [
      p.bus,
      String(p.step + 1),
      formatAddress(p.device),
      p.version ?? '-',
      p.problem ?? '',
    ]),
  );
  if (ctx.json) ctx.out(JSON.stringify(r));
  else ctx.out(`${r.id === undefined ? 'plan' : `campaign ${r.id}`}:\n${planText}`);
  if (r.plan.some((p) => p.problem)) return EXIT.failed;
  if (r.id === undefined) return EXIT.ok;
  const last = new Map<number, string>();
  for (;;) {
    const c = (await client.campaigns()).find((x) => x.id === r.id);
    const ups = await client.updates();
    for (const u of ups) {
      if (!items.some((i) => i.device === u.device)) continue;
      const line = ctx.json ? JSON.stringify(u) : updateLine(u);
      if (last.get(u.device) !== line) {
        ctx.out(line);
        last.set(u.device, line);
      }
    }
    if (c?.state !== 'running') {
      const failed = c ? c.items.filter((i) => i.state !== 'done') : [];
      if (!ctx.json && c)
        ctx.out(
          `campaign ${c.id} ${c.state}: ${c.items.length - failed.length} of ${c.items.length} updated${failed.length ? `; ${failed.map((f) => `${formatAddress(f.device)} ${f.state} (${f.detail})`).join(', ')}` : ''}`,
        );
      return c && failed.length === 0 && c.state === 'finished' ? EXIT.ok : EXIT.failed;
    }
    if (ctx.io.signal?.aborted) return EXIT.ok;
    await sleep(500, ctx.io.signal);
  }
}

/** The hardware id a signed manifest file is for, read locally. */
function manifestHardwareId(path: string): string | { error: string } {
  try {
    const env = decodeEnvelope(readManifestFile(path));
    if (!env.ok) return { error: `${path}: ${env.error.message}` };
    const m = decodeManifest(env.value.manifest);
    return m.ok ? m.value.hardwareId : { error: `${path}: ${m.error.message}` };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function address(text: string): number {
  const a = parseAddress(text);
  if (a === undefined) throw new UsageError(`"${text}" is not a node address (0–255, decimal or 0x hex)`);
  return a;
}

function optInt(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${name} must be an integer from ${min} to ${max}`);
  return n;
}

function noArgs(rest: string[], max: number, min = 0): void {
  if (rest.length > max) throw new UsageError(`unexpected argument "${rest[max]}"`);
  if (rest.length < min) throw new UsageError('missing argument');
}
