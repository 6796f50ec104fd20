import { createRequire } from 'node:module';

/**
 * Readiness, watchdog and stop notifications to systemd (sd_notify(3)), for `Type=notify` units with
 * `WatchdogSec=`: docs/observability.md "systemd".
 *
 * Node 20 cannot send on a unix datagram socket, so the datagrams go through libsystemd's own
 * sd_notify() by way of the `sd-notify` addon (an optional dependency built against libsystemd-dev).
 * They leave from the daemon's own process, so systemd attributes them to the main PID with the
 * default `NotifyAccess=main`, and libsystemd reads NOTIFY_SOCKET exactly as systemd writes it,
 * abstract names ("@…") included. Spawning `systemd-notify` instead would send from a short-lived
 * child that systemd may fail to attribute (it must look the sender up before it exits), and would
 * need `NotifyAccess=all`.
 */

export type NotifyErrorCode = 'addon_unavailable' | 'bad_watchdog_usec' | 'send_failed';

export class SystemdNotifyError extends Error {
  constructor(
    readonly code: NotifyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SystemdNotifyError';
  }
}

export interface NotifyLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface NotifierOptions {
  readonly log: NotifyLogger;
  readonly env?: NodeJS.ProcessEnv;
  readonly pid?: number;
  /** Sends one notification (newline-separated assignments); default: sd_notify() via the addon. */
  readonly send?: (state: string) => void;
}

/** The part of the sd-notify addon used: `sendState(s)` is `sd_notify(0, s)`. */
interface SdNotifyAddon {
  sendState(state: string): void;
}

function loadAddon(): (state: string) => void {
  try {
    const addon = createRequire(import.meta.url)('sd-notify') as SdNotifyAddon;
    return (state) => addon.sendState(state);
  } catch (e) {
    throw new SystemdNotifyError(
      'addon_unavailable',
      `the sd-notify addon is not available (${(e as Error).message.split('\n')[0]}); install libsystemd-dev and run npm ci again`,
    );
  }
}

/**
 * The watchdog period systemd asks for (WATCHDOG_USEC, µs), or undefined when it asks for none or
 * asks another process (WATCHDOG_PID), as sd_watchdog_enabled(3) reads them.
 */
export function watchdogUsec(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || usec === '') return undefined;
  if (!/^[0-9]+$/.test(usec) || Number(usec) <= 0 || !Number.isSafeInteger(Number(usec))) {
    throw new SystemdNotifyError(
      'bad_watchdog_usec',
      `WATCHDOG_USEC="${usec}" is not a positive number of µs`,
    );
  }
  const forPid = env.WATCHDOG_PID;
  if (forPid !== undefined && forPid !== '' && forPid !== String(pid)) return undefined;
  return Number(usec);
}

export class SystemdNotifier {
  readonly #send: (state: string) => void;
  readonly #log: NotifyLogger;
  readonly #watchdogUs: number | undefined;
  readonly #counters: Record<string, number> = {};
  #timer: NodeJS.Timeout | null = null;

  /**
   * A notifier when systemd is listening (NOTIFY_SOCKET set), else null. Problems (no addon, a bad
   * WATCHDOG_USEC) are logged and counted, never fatal: the daemon serves either way.
   */
  static fromEnv(options: NotifierOptions): SystemdNotifier | null {
    const env = options.env ?? process.env;
    const socket = env.NOTIFY_SOCKET;
    if (socket === undefined || socket === '') return null;
    let send: (state: string) => void;
    try {
      send = options.send ?? loadAddon();
    } catch (e) {
      options.log.error({ code: (e as SystemdNotifyError).code, notifySocket: socket }, (e as Error).message);
      return null;
    }
    let watchdog: number | undefined;
    let badWatchdog: SystemdNotifyError | undefined;
    try {
      watchdog = watchdogUsec(env, options.pid ?? process.pid);
    } catch (e) {
      badWatchdog = e as SystemdNotifyError;
    }
    const n = new SystemdNotifier(send, options.log, watchdog);
    if (badWatchdog) n.#fail(badWatchdog);
    return n;
  }

  private constructor(send: (state: string) => void, log: NotifyLogger, watchdogUs: number | undefined) {
    this.#send = send;
    this.#log = log;
    this.#watchdogUs = watchdogUs;
  }

  /** The watchdog period (µs), when systemd asked for one. */
  get watchdogUs(): number | undefined {
    return this.#watchdogUs;
  }

  /** Notifications sent (by their first assignment, e.g. READY) and problems (by error code). */
  counters(): Record<string, number> {
    return { ...this.#counters };
  }

  /**
   * The daemon serves (buses started, API listening): READY=1 with a status line, then WATCHDOG=1
   * every WATCHDOG_USEC/2. Those come from a timer on the event loop, so a loop that stops turning
   * stops them and systemd restarts the daemon after WatchdogSec.
   */
  ready(status: string): void {
    this.#notify(`READY=1\nSTATUS=${status}`);
    if (this.#watchdogUs === undefined || this.#timer) return;
    const everyMs = Math.max(1, Math.floor(this.#watchdogUs / 2000));
    this.#timer = setInterval(() => this.#notify('WATCHDOG=1'), everyMs);
    // The pings must never be what keeps a stopping daemon alive.
    this.#timer.unref();
    this.#log.info({ watchdogMs: this.#watchdogUs / 1000, pingEveryMs: everyMs }, 'systemd watchdog on');
  }

  /** The daemon is shutting down: no more pings, and systemd is told (STOPPING=1). */
  stopping(): void {
    this.close();
    this.#notify('STOPPING=1\nSTATUS=stopping');
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #notify(state: string): void {
    try {
      this.#send(state);
      const what = state.split('\n')[0]!.split('=')[0]!;
      this.#counters[what] = (this.#counters[what] ?? 0) + 1;
    } catch (e) {
      this.#fail(new SystemdNotifyError('send_failed', `sd_notify failed: ${(e as Error).message}`));
    }
  }

  #fail(e: SystemdNotifyError): void {
    this.#counters[e.code] = (this.#counters[e.code] ?? 0) + 1;
    this.#log.warn({ code: e.code }, e.message);
  }
}
