import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type ConfigError, type PathSegment, parseYamlSource } from '@mcubus/host';
import { RigFileError } from '../errors.js';
import { RigReader } from './rig-reader.js';
import { readHealth, readSoak, readTime, readUpdate } from './sections.js';
import type { DaemonSpec, DeviceSpec, PowerSpec, ProcessSpec, RigSpec } from './types.js';

type Path = readonly PathSegment[];
type RawMap = Readonly<Record<string, unknown>>;

const TOP = ['name', 'daemon', 'processes', 'devices', 'health', 'time', 'update', 'soak'] as const;

/** Reads a rig file; every problem in it is reported at once as a RigFileError. */
export function loadRig(file: string, work: string): RigSpec {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RigFileError([
      { code: 'io', file: path, path: '', message: `cannot read rig file: ${(e as Error).message}` },
    ]);
  }
  return parseRig(text, path, work);
}

/** Parses a rig file's text; `file` names it in errors and its directory anchors relative paths. */
export function parseRig(text: string, file: string, work: string): RigSpec {
  const source = parseYamlSource(text, file);
  if (!source.ok) throw new RigFileError(source.error);
  const dir = dirname(file);
  const r = new RigReader(file, source.value.locate, { work, rig: dir });
  const top = r.map(source.value.value ?? {}, [], TOP);
  if (top === undefined) throw new RigFileError(r.errors);
  const name = r.or(top, 'name', [], (v, p) => r.string(v, p), 'rig');
  const daemon = r.need(top, 'daemon', [], (v, p) => readDaemon(r, v, p));
  const processes = r.or(top, 'processes', [], (v, p) => readList(r, v, p, readProcess), []);
  const devices = r.need(top, 'devices', [], (v, p) => readList(r, v, p, readDevice));
  const sections = {
    health: readHealth(r, top.health, ['health']),
    time: readTime(r, top.time, ['time']),
    update: readUpdate(r, top.update, ['update']),
    soak: readSoak(r, top.soak, ['soak']),
  };
  // Names as written, so a process with a mistake of its own is not also reported missing.
  const processNames = Array.isArray(top.processes)
    ? top.processes
        .map((p) => (p as { name?: unknown } | null)?.name)
        .filter((n): n is string => typeof n === 'string')
    : [];
  if (devices !== undefined) crossCheck(r, devices, processNames, sections.update.devices);
  if (r.errors.length > 0 || daemon === undefined || devices === undefined) {
    throw new RigFileError(r.errors.length > 0 ? r.errors : [missing(file)]);
  }
  return { name, dir, daemon, processes, devices, ...sections };
}

function missing(file: string): ConfigError {
  return { code: 'missing', file, path: '', message: 'the rig file needs daemon and devices' };
}

function readList<T>(
  r: RigReader,
  value: unknown,
  path: Path,
  item: (r: RigReader, v: unknown, p: Path) => T | undefined,
): T[] | undefined {
  const list = r.list(value, path);
  if (list === undefined) return undefined;
  // The items that read well are kept (their errors are recorded), so cross-checks still run on them.
  return list.map((v, i) => item(r, v, [...path, i])).filter((x): x is T => x !== undefined);
}

function readDaemon(r: RigReader, value: unknown, path: Path): DaemonSpec | undefined {
  const m = r.map(value, path, ['command', 'config', 'configFile']);
  if (m === undefined) return undefined;
  const command = r.or(m, 'command', path, (v, p) => r.command(v, p), ['mcubusd']);
  if ('config' in m && 'configFile' in m) {
    r.report(
      'conflict',
      [...path, 'configFile'],
      'give the mcubusd configuration inline (config) or as a file, not both',
    );
    return undefined;
  }
  let config: RawMap | undefined;
  if ('configFile' in m) {
    const file = r.filePath(m.configFile, [...path, 'configFile']);
    if (file === undefined) return undefined;
    config = readConfigFile(r, file, [...path, 'configFile']);
  } else {
    const raw = r.need(m, 'config', path, (v, p) => r.map(v, p, Object.keys(v ?? {})));
    config = raw === undefined ? undefined : (r.deep(raw, [...path, 'config']) as RawMap);
  }
  return config === undefined ? undefined : { command, config };
}

/** The daemon's own file: only read here; mcubusd validates it when it starts with it. */
function readConfigFile(r: RigReader, file: string, path: Path): RawMap | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    r.report('io', path, `cannot read ${file}: ${(e as Error).message}`);
    return undefined;
  }
  const source = parseYamlSource(text, file);
  if (!source.ok) {
    r.errors.push(...source.error);
    return undefined;
  }
  return r.map(source.value.value, path, Object.keys((source.value.value as RawMap | null) ?? {}));
}

function readProcess(r: RigReader, value: unknown, path: Path): ProcessSpec | undefined {
  const m = r.map(value, path, ['name', 'command', 'ready']);
  if (m === undefined) return undefined;
  const name = r.need(m, 'name', path, (v, p) =>
    r.pattern(v, p, /^[\w.-]+$/, 'a name of letters, digits, _ . -'),
  );
  const command = r.need(m, 'command', path, (v, p) => r.command(v, p));
  const ready = r.need(m, 'ready', path, (v, p) => {
    const rm = r.map(v, p, ['stdout', 'path']);
    if (rm === undefined) return undefined;
    if ('stdout' in rm === 'path' in rm) {
      r.report('value', p, 'say when the process serves: {stdout: REGEX} or {path: PATH} (one of them)');
      return undefined;
    }
    if ('stdout' in rm) {
      const stdout = r.regex(rm.stdout, [...p, 'stdout']);
      return stdout === undefined ? undefined : { stdout };
    }
    const file = r.filePath(rm.path, [...p, 'path']);
    return file === undefined ? undefined : { path: file };
  });
  return name && command && ready ? { name, command, ready } : undefined;
}

function readDevice(r: RigReader, value: unknown, path: Path): DeviceSpec | undefined {
  const m = r.map(value, path, ['name', 'address', 'hardwareId', 'bus', 'via', 'power']);
  if (m === undefined) return undefined;
  const address = r.need(m, 'address', path, (v, p) => r.address(v, p));
  const name = r.or(
    m,
    'name',
    path,
    (v, p) => r.string(v, p),
    address === undefined ? '?' : `0x${address.toString(16)}`,
  );
  const hardwareId = r.need(m, 'hardwareId', path, (v, p) => r.string(v, p));
  const bus = r.need(m, 'bus', path, (v, p) => r.string(v, p));
  const via = 'via' in m && m.via !== null && m.via !== 'none' ? r.address(m.via, [...path, 'via']) : null;
  const power = r.maybe(m, 'power', path, (v, p) => readPower(r, v, p));
  if (address === undefined || hardwareId === undefined || bus === undefined || via === undefined)
    return undefined;
  if ('power' in m && power === undefined) return undefined;
  return { name, address, hardwareId, bus, via, ...(power ? { power } : {}) };
}

function readPower(r: RigReader, value: unknown, path: Path): PowerSpec | undefined {
  const m = r.map(value, path, ['process', 'off', 'on', 'unplug']);
  if (m === undefined) return undefined;
  if ('process' in m) {
    if ('off' in m || 'on' in m || 'unplug' in m) {
      r.report(
        'conflict',
        path,
        'power is either {process: NAME} or {off: CMD, on: CMD[, unplug: {off, on}]}',
      );
      return undefined;
    }
    const process = r.string(m.process, [...path, 'process']);
    return process === undefined ? undefined : { kind: 'process', process };
  }
  const off = r.need(m, 'off', path, (v, p) => r.text(v, p));
  const on = r.need(m, 'on', path, (v, p) => r.text(v, p));
  const unplug = r.maybe(m, 'unplug', path, (v, p) => {
    const u = r.map(v, p, ['off', 'on']);
    if (u === undefined) return undefined;
    const uoff = r.need(u, 'off', p, (x, q) => r.text(x, q));
    const uon = r.need(u, 'on', p, (x, q) => r.text(x, q));
    return uoff && uon ? { off: uoff, on: uon } : undefined;
  });
  if (off === undefined || on === undefined) return undefined;
  return { kind: 'commands', off, on, ...(unplug ? { unplug } : {}) };
}

/** References between sections: power names a process, addresses are unique, update names devices. */
function crossCheck(
  r: RigReader,
  devices: readonly DeviceSpec[],
  processNames: readonly string[],
  updateDevices: readonly number[] | null,
): void {
  const seen = new Set<number>();
  devices.forEach((d, i) => {
    if (seen.has(d.address))
      r.report('duplicate', ['devices', i, 'address'], `address 0x${d.address.toString(16)} is listed twice`);
    seen.add(d.address);
    const power = d.power;
    if (power?.kind === 'process' && !processNames.includes(power.process)) {
      const known = processNames.join(', ') || 'none';
      r.report(
        'reference',
        ['devices', i, 'power', 'process'],
        `no process named "${power.process}" (processes: ${known})`,
      );
    }
  });
  const names = new Set<string>();
  processNames.forEach((name, i) => {
    if (names.has(name)) r.report('duplicate', ['processes', i, 'name'], `process "${name}" is listed twice`);
    names.add(name);
  });
  updateDevices?.forEach((a, i) => {
    if (!seen.has(a))
      r.report('reference', ['update', 'devices', i], `0x${a.toString(16)} is not one of the rig's devices`);
  });
}
