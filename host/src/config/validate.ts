import type { Result } from '@mcubus/protocol';
import { readBus } from './buses.js';
import { readCapture } from './capture.js';
import type { ConfigError } from './errors.js';
import { readFleet } from './fleet.js';
import { type Locate, type Path, Reader } from './reader.js';
import { readApi, readDevice, readLog, readServices, readSimulator, readUpdates } from './sections.js';
import type { BusConfig, DaemonConfig, DeviceConfig } from './types.js';

const TOP_KEYS = [
  'stateDir',
  'api',
  'simulator',
  'buses',
  'devices',
  'services',
  'updates',
  'log',
  'capture',
  'fleet',
];
export const DEFAULT_STATE_DIR = '/var/lib/mcubus';

/**
 * Checks an already-parsed document (plain data as YAML or JSON produce it) and applies defaults.
 * `locate` maps key paths to text positions so errors can point at a line.
 */
export function validateConfig(
  raw: unknown,
  sourceName: string,
  locate?: Locate,
): Result<DaemonConfig, ConfigError[]> {
  const r = new Reader(sourceName, locate);
  // An empty file parses to null: report what is missing rather than "expected a mapping".
  const m = r.map(raw ?? {}, [], TOP_KEYS);
  if (m === undefined) return { ok: false, error: r.errors };
  const stateDir = r.or(m, 'stateDir', [], (v, p) => r.string(v, p), DEFAULT_STATE_DIR);
  const api = readApi(r, m.api, ['api'], stateDir);
  const simulator = r.maybe(m, 'simulator', [], (v, p) => readSimulator(r, v, p));
  const busSlots = readAll(r, m, 'buses', true, (v, p) => readBus(r, v, p));
  const deviceSlots = readAll(r, m, 'devices', false, (v, p) => readDevice(r, v, p));
  const services = readServices(r, m.services, ['services']);
  const log = readLog(r, m.log, ['log']);
  const updates = readUpdates(r, m.updates, ['updates']);
  const busNames = new Set(busSlots.flatMap((b) => (b ? [b.name] : [])));
  const capture = r.maybe(m, 'capture', [], (v, p) => readCapture(r, v, p, stateDir, busNames));
  const fleet = r.maybe(m, 'fleet', [], (v, p) => readFleet(r, v, p));
  crossCheck(r, busSlots, deviceSlots, 'simulator' in m);
  if (r.errors.length > 0) return { ok: false, error: r.errors };
  const buses = busSlots.filter((b) => b !== undefined);
  const devices = deviceSlots.filter((d) => d !== undefined);
  return {
    ok: true,
    value: {
      stateDir,
      api,
      ...(simulator ? { simulator } : {}),
      buses,
      devices,
      services,
      updates,
      log,
      ...(capture ? { capture } : {}),
      ...(fleet ? { fleet } : {}),
    },
  };
}

/** A top-level list; an entry too broken to read stays as `undefined` so indexes match the file. */
function readAll<T>(
  r: Reader,
  m: Readonly<Record<string, unknown>>,
  key: string,
  required: boolean,
  read: (v: unknown, p: Path) => T | undefined,
): (T | undefined)[] {
  const list = required
    ? r.need(m, key, [], (v, p) => r.list(v, p))
    : r.maybe(m, key, [], (v, p) => r.list(v, p));
  const out = (list ?? []).map((item, i) => read(item, [key, i]));
  if (required && list?.length === 0) r.report('range', [key], `at least one entry is required`);
  return out;
}

/** Rules that span entries: unique names and addresses, and references that resolve. */
function crossCheck(
  r: Reader,
  buses: readonly (BusConfig | undefined)[],
  devices: readonly (DeviceConfig | undefined)[],
  hasSim: boolean,
) {
  const busIndex = new Map<string, number>();
  buses.forEach((bus, i) => {
    if (bus === undefined) return;
    if (busIndex.has(bus.name))
      r.report('duplicate', ['buses', i, 'name'], `bus name "${bus.name}" is used twice`);
    else busIndex.set(bus.name, i);
    const needsSim = bus.type === 'sim' || (bus.type === 'can' && bus.backend === 'sim');
    if (needsSim && !hasSim) {
      r.report('reference', ['buses', i, 'type'], 'a simulated bus needs a top-level simulator section');
    }
  });
  const addresses = new Set(devices.map((d) => d?.address));
  const seen = new Set<number>();
  const names = new Set<string>();
  devices.forEach((d, i) => {
    if (d === undefined) return;
    if (seen.has(d.address))
      r.report('duplicate', ['devices', i, 'address'], `address ${d.address} is used twice`);
    seen.add(d.address);
    if (d.name !== undefined) {
      if (names.has(d.name))
        r.report('duplicate', ['devices', i, 'name'], `device name "${d.name}" is used twice`);
      names.add(d.name);
    }
    if (d.bus !== undefined && !busIndex.has(d.bus)) {
      r.report('reference', ['devices', i, 'bus'], `no bus is named "${d.bus}"`);
    }
    if (d.via !== undefined && d.via === d.address) {
      r.report('reference', ['devices', i, 'via'], 'a device cannot be its own gateway');
    } else if (d.via !== undefined && !addresses.has(d.via)) {
      r.report('reference', ['devices', i, 'via'], `no device has address ${d.via}`);
    }
  });
}
