import type { Path, Reader } from './reader.js';
import type {
  ApiConfig,
  DeviceConfig,
  LogConfig,
  LogLevel,
  ServicesConfig,
  SimulatorConfig,
  UpdatesConfig,
} from './types.js';

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];
const MS = { min: 1, max: 3_600_000 };

export const SERVICE_DEFAULTS: ServicesConfig = {
  heartbeatTimeoutMs: 3000,
  timeSyncPeriodMs: 1000,
  requestTimeoutMs: 500,
  requestRetries: 3,
  traceRetainHours: 24,
};

/** `api`; the socket defaults to a file in the state directory so one setting moves both. */
export function readApi(r: Reader, value: unknown, path: Path, stateDir: string): ApiConfig {
  const fallback: ApiConfig = { socket: `${stateDir.replace(/\/+$/, '')}/mcubusd.sock`, socketMode: 0o660 };
  if (value === undefined) return fallback;
  const m = r.map(value, path, ['socket', 'socketMode', 'tcp']);
  if (m === undefined) return fallback;
  const socket = r.or(m, 'socket', path, (v, p) => r.string(v, p), fallback.socket);
  const socketMode = r.or(m, 'socketMode', path, (v, p) => readMode(r, v, p), fallback.socketMode);
  const tcp = r.maybe(m, 'tcp', [...path], (v, p) => {
    const t = r.map(v, p, ['host', 'port', 'token']);
    if (t === undefined) return undefined;
    const host = r.or(t, 'host', p, (x, q) => r.string(x, q), '127.0.0.1');
    const port = r.need(t, 'port', p, (x, q) => r.int(x, q, { min: 1, max: 65_535 }));
    const token = r.maybe(t, 'token', p, (x, q) => r.string(x, q));
    // Anyone who can reach a non-loopback listener could update firmware: demand a token there.
    if (token === undefined && !('token' in t) && !isLoopback(host)) {
      r.report('missing', [...p, 'token'], `a token is required when listening on non-loopback host ${host}`);
    }
    if (port === undefined) return undefined;
    return { host, port, ...(token === undefined ? {} : { token }) };
  });
  return { socket, socketMode, ...(tcp ? { tcp } : {}) };
}

/** YAML 1.2 reads `0660` as decimal 660, so the octal form must be written `0o660`. */
function readMode(r: Reader, v: unknown, p: Path): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && (v < 0 || v > 0o777)) {
    r.report('range', p, `must be a file mode between 0o000 and 0o777 (write octal as 0o660), got ${v}`);
    return undefined;
  }
  return r.int(v, p, { min: 0, max: 0o777 });
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

export function readSimulator(r: Reader, value: unknown, path: Path): SimulatorConfig | undefined {
  const m = r.map(value, path, ['scenario', 'seed']);
  if (m === undefined) return undefined;
  const scenario = r.need(m, 'scenario', path, (v, p) => r.string(v, p));
  const seed = r.or(m, 'seed', path, (v, p) => r.int(v, p, { min: 0, max: 0xffff_ffff }), 1);
  return scenario === undefined ? undefined : { scenario, seed };
}

export function readDevice(r: Reader, value: unknown, path: Path): DeviceConfig | undefined {
  const m = r.map(value, path, ['address', 'name', 'bus', 'via']);
  if (m === undefined) return undefined;
  // 0 is the host and 255 broadcast: neither can be a device.
  const address = r.need(m, 'address', path, (v, p) => r.int(v, p, { min: 1, max: 254 }));
  const name = r.maybe(m, 'name', path, (v, p) => r.string(v, p));
  const bus = r.maybe(m, 'bus', path, (v, p) => r.string(v, p));
  const via = r.maybe(m, 'via', path, (v, p) => r.int(v, p, { min: 1, max: 254 }));
  if ('bus' in m && 'via' in m) {
    r.report(
      'conflict',
      [...path, 'via'],
      'set either bus (directly attached) or via (behind a gateway), not both',
    );
  }
  if (address === undefined) return undefined;
  return {
    address,
    ...(name === undefined ? {} : { name }),
    ...(bus === undefined ? {} : { bus }),
    ...(via === undefined ? {} : { via }),
  };
}

export function readServices(r: Reader, value: unknown, path: Path): ServicesConfig {
  if (value === undefined) return SERVICE_DEFAULTS;
  const m = r.map(value, path, [...Object.keys(SERVICE_DEFAULTS), 'heartbeatPeriodMs']);
  if (m === undefined) return SERVICE_DEFAULTS;
  const ms = (v: unknown, p: Path) => r.int(v, p, MS);
  const d = SERVICE_DEFAULTS;
  return {
    heartbeatTimeoutMs: r.or(m, 'heartbeatTimeoutMs', path, ms, d.heartbeatTimeoutMs),
    timeSyncPeriodMs: r.or(m, 'timeSyncPeriodMs', path, ms, d.timeSyncPeriodMs),
    requestTimeoutMs: r.or(m, 'requestTimeoutMs', path, ms, d.requestTimeoutMs),
    requestRetries: r.or(
      m,
      'requestRetries',
      path,
      (v, p) => r.int(v, p, { min: 0, max: 10 }),
      d.requestRetries,
    ),
    traceRetainHours: r.or(
      m,
      'traceRetainHours',
      path,
      (v, p) => r.int(v, p, { min: 1, max: 24 * 365 }),
      d.traceRetainHours,
    ),
    ...(m.heartbeatPeriodMs !== undefined
      ? {
          heartbeatPeriodMs: r.int(m.heartbeatPeriodMs, [...path, 'heartbeatPeriodMs'], {
            min: 50,
            max: 60_000,
          }),
        }
      : {}),
  };
}

export function readUpdates(r: Reader, value: unknown, path: Path): UpdatesConfig {
  const d = DEFAULT_UPDATES;
  if (value === undefined) return d;
  const m = r.map(value, path, ['trustedKeys', 'stallTimeoutS', 'minProgressBytes']);
  if (m === undefined) return d;
  const keys: string[] = [];
  if (m.trustedKeys !== undefined) {
    const list = r.list(m.trustedKeys, [...path, 'trustedKeys']) ?? [];
    list.forEach((v, i) => {
      const p = r.string(v, [...path, 'trustedKeys', i]);
      if (p !== undefined) keys.push(p);
    });
  }
  return {
    trustedKeys: keys,
    stallTimeoutS: r.or(
      m,
      'stallTimeoutS',
      path,
      (v, p) => r.int(v, p, { min: 5, max: 24 * 3600 }),
      d.stallTimeoutS,
    ),
    minProgressBytes: r.or(
      m,
      'minProgressBytes',
      path,
      (v, p) => r.int(v, p, { min: 1, max: 16 * 1024 * 1024 }),
      d.minProgressBytes,
    ),
  };
}

/** An update must acknowledge 32 KiB (or reach its next phase) every 2 minutes (docs/updates.md "Stalls"). */
export const DEFAULT_UPDATES: UpdatesConfig = {
  trustedKeys: [],
  stallTimeoutS: 120,
  minProgressBytes: 32768,
};

export function readLog(r: Reader, value: unknown, path: Path): LogConfig {
  if (value === undefined) return { level: 'info' };
  const m = r.map(value, path, ['level']);
  return { level: (m && r.or(m, 'level', path, (v, p) => r.oneOf(v, p, LOG_LEVELS), 'info')) ?? 'info' };
}
