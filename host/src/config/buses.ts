import type { Path, RawMap, Reader } from './reader.js';
import type {
  BusConfig,
  BusType,
  CanBusConfig,
  ModbusBusConfig,
  ModbusDeviceConfig,
  RegisterProbeConfig,
  SerialFrame,
} from './types.js';

const BUS_TYPES: readonly BusType[] = ['uart', 'modbus', 'can', 'sim'];
const CAN_BACKENDS = ['socketcan', 'slcan', 'sim'] as const;

/** Bus names appear in device entries and log lines: keep them identifier-like. */
const NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const NAME_SHAPE = 'a name of letters, digits, "_", "." or "-" starting with a letter';
const DEVICE_PATH = /^\/\S+$/;
const DEVICE_PATH_SHAPE = 'an absolute device path such as /dev/ttyUSB0';
const FRAME = /^[78][NEO][12]$/;
const FRAME_SHAPE = 'a frame format such as 8N1 or 8E1';
/** Linux interface names are at most 15 characters (IFNAMSIZ 16 with the terminator). */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const BAUD = { min: 300, max: 4_000_000 };
/** Bit rates an slcan adapter can be set to (commands S0…S8). */
const SLCAN_BITRATES = [10_000, 20_000, 50_000, 100_000, 125_000, 250_000, 500_000, 800_000, 1_000_000];

const KNOWN: Readonly<Record<BusType, readonly string[]>> = {
  uart: ['name', 'type', 'port', 'baud', 'frame'],
  modbus: ['name', 'type', 'port', 'baud', 'frame', 'devices', 'registerProbes'],
  can: ['name', 'type', 'backend', 'interface', 'port', 'bitrate', 'fd', 'simBus'],
  sim: ['name', 'type', 'simBus'],
};

/** One entry of `buses`; `undefined` when it is too broken to describe a bus. */
export function readBus(r: Reader, value: unknown, path: Path): BusConfig | undefined {
  // The type decides which keys are known, so read it before checking keys.
  const peek = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as RawMap) : {};
  const type = 'type' in peek ? r.oneOf(peek.type, [...path, 'type'], BUS_TYPES) : undefined;
  if (!('type' in peek) && peek === value) r.report('missing', [...path, 'type'], 'required key is missing');
  const known = type ? KNOWN[type] : [...new Set(Object.values(KNOWN).flat())];
  const m = r.map(value, path, known);
  if (m === undefined) return undefined;
  const name = r.need(m, 'name', path, (v, p) => r.pattern(v, p, NAME, NAME_SHAPE));
  if (type === undefined || name === undefined) return undefined;
  const port = (v: unknown, p: Path) => r.pattern(v, p, DEVICE_PATH, DEVICE_PATH_SHAPE);
  const frame = (v: unknown, p: Path) => r.pattern(v, p, FRAME, FRAME_SHAPE) as SerialFrame | undefined;
  const baud = (v: unknown, p: Path) => r.int(v, p, BAUD);
  switch (type) {
    case 'uart':
      return {
        type,
        name,
        port: r.need(m, 'port', path, port) ?? '',
        baud: r.or(m, 'baud', path, baud, 115_200),
        frame: r.or(m, 'frame', path, frame, '8N1'),
      };
    case 'modbus':
      return readModbus(r, m, path, name, {
        port: r.need(m, 'port', path, port) ?? '',
        baud: r.or(m, 'baud', path, baud, 19_200),
        frame: r.or(m, 'frame', path, frame, '8E1'),
      });
    case 'can':
      return readCan(r, m, path, name);
    case 'sim':
      return { type, name, simBus: r.or(m, 'simBus', path, (v, p) => r.string(v, p), name) };
  }
}

function readModbus(
  r: Reader,
  m: RawMap,
  path: Path,
  name: string,
  line: Pick<ModbusBusConfig, 'port' | 'baud' | 'frame'>,
): ModbusBusConfig {
  const slave = (v: unknown, p: Path) => r.int(v, p, { min: 1, max: 247 });
  const devices: ModbusDeviceConfig[] = [];
  const list = r.need(m, 'devices', path, (v, p) => r.list(v, p)) ?? [];
  const seen = new Set<number>();
  list.forEach((item, i) => {
    const p = [...path, 'devices', i];
    const d = r.map(item, p, ['slave', 'address']);
    if (d === undefined) return;
    const s = r.need(d, 'slave', p, slave);
    const address = r.maybe(d, 'address', p, (v, q) => r.int(v, q, { min: 1, max: 254 }));
    if (s === undefined) return;
    if (seen.has(s)) r.report('duplicate', [...p, 'slave'], `slave ${s} is listed twice on this bus`);
    seen.add(s);
    devices.push({ slave: s, ...(address === undefined ? {} : { address }) });
  });
  if ('devices' in m && list.length === 0 && Array.isArray(m.devices)) {
    r.report('range', [...path, 'devices'], 'a Modbus bus needs at least one device');
  }
  const probes: RegisterProbeConfig[] = [];
  const probeList = r.maybe(m, 'registerProbes', path, (v, p) => r.list(v, p)) ?? [];
  probeList.forEach((item, i) => {
    const p = [...path, 'registerProbes', i];
    const probe = readProbe(r, item, p, slave);
    if (probe) probes.push(probe);
  });
  return { type: 'modbus', name, ...line, devices, registerProbes: probes };
}

function readProbe(
  r: Reader,
  item: unknown,
  p: Path,
  slave: (v: unknown, p: Path) => number | undefined,
): RegisterProbeConfig | undefined {
  const m = r.map(item, p, ['slave', 'function', 'start', 'quantity', 'expect']);
  if (m === undefined) return undefined;
  const s = r.need(m, 'slave', p, slave);
  const fn = r.need(m, 'function', p, (v, q) => {
    if (v === 3 || v === 4) return v;
    r.report('value', q, `must be 3 (read holding registers) or 4 (read input registers), got ${String(v)}`);
    return undefined;
  });
  const start = r.need(m, 'start', p, (v, q) => r.int(v, q, { min: 0, max: 0xffff }));
  // 125 registers is the most one Modbus read may return (250 data bytes).
  const quantity = r.need(m, 'quantity', p, (v, q) => r.int(v, q, { min: 1, max: 125 }));
  if (start !== undefined && quantity !== undefined && start + quantity > 0x10000) {
    r.report('range', [...p, 'quantity'], `start + quantity must not exceed 65536, got ${start + quantity}`);
  }
  const expect = r.maybe(m, 'expect', p, (v, q) => {
    const e = r.map(v, q, ['min', 'max']);
    if (e === undefined) return undefined;
    const min = r.need(e, 'min', q, (x, k) => r.number(x, k));
    const max = r.need(e, 'max', q, (x, k) => r.number(x, k));
    if (min === undefined || max === undefined) return undefined;
    if (min > max) r.report('range', [...q, 'min'], `min (${min}) must not exceed max (${max})`);
    return { min, max };
  });
  if (s === undefined || fn === undefined || start === undefined || quantity === undefined) return undefined;
  return { slave: s, function: fn, start, quantity, ...(expect ? { expect } : {}) };
}

function readCan(r: Reader, m: RawMap, path: Path, name: string): CanBusConfig | undefined {
  const backend = r.need(m, 'backend', path, (v, p) => r.oneOf(v, p, CAN_BACKENDS));
  const bitrate = r.or(m, 'bitrate', path, (v, p) => r.int(v, p, { min: 10_000, max: 1_000_000 }), 500_000);
  const fd = r.or(m, 'fd', path, (v, p) => r.bool(v, p), false);
  const common = { type: 'can' as const, name, bitrate, fd };
  // Each backend has its own way to find the bus; a key of another backend is a mistake, not noise.
  const forbid = (keys: readonly string[]) => {
    for (const k of keys) {
      if (k in m) r.report('conflict', [...path, k], `not used by the ${backend} backend`);
    }
  };
  switch (backend) {
    case 'socketcan':
      forbid(['port', 'simBus']);
      return {
        ...common,
        backend,
        interface:
          r.need(m, 'interface', path, (v, p) =>
            r.pattern(v, p, IFNAME, 'a network interface name such as can0 or vcan0'),
          ) ?? '',
      };
    case 'slcan':
      forbid(['interface', 'simBus']);
      if (!SLCAN_BITRATES.includes(bitrate)) {
        r.report(
          'value',
          [...path, 'bitrate'],
          `slcan supports only ${SLCAN_BITRATES.join(', ')}, got ${bitrate}`,
        );
      }
      return {
        ...common,
        backend,
        port: r.need(m, 'port', path, (v, p) => r.pattern(v, p, DEVICE_PATH, DEVICE_PATH_SHAPE)) ?? '',
      };
    case 'sim':
      forbid(['interface', 'port']);
      return { ...common, backend, simBus: r.or(m, 'simBus', path, (v, p) => r.string(v, p), name) };
    case undefined:
      return undefined;
  }
}
