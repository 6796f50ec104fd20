import type {
  CampaignView,
  DeviceView,
  HealthView,
  StatusView,
  TimeView,
  UpdateStatusView,
} from '../api/daemon-api.js';
import type { Traffic } from '../metrics/traffic.js';
import { DEVICE_UPDATE, DEVICE_UPDATE_MANIFEST, NODE_UPDATE, NODE_UPDATE_MANIFEST } from './commands.js';
import { type Metric, metric } from './metric.js';
import type { Snapshot } from './sparkplug-node.js';

/**
 * The daemon's state as Sparkplug metrics (names and types are listed in docs/fleet.md). Pure: the
 * adapter reads the views through the DaemonApi and passes them in.
 */
export interface FleetViews {
  readonly status: StatusView;
  readonly health: readonly HealthView[];
  readonly time: readonly TimeView[];
  readonly updates: readonly UpdateStatusView[];
  readonly campaigns: readonly CampaignView[];
  /** device → channel → latest value. */
  readonly telemetry: ReadonlyMap<number, ReadonlyMap<number, number>>;
  /** Frames and bytes per bus and per device, when the daemon counts them. */
  readonly traffic?: {
    readonly buses: ReadonlyMap<string, Readonly<Traffic>>;
    readonly devices: ReadonlyMap<number, Readonly<Traffic>>;
  };
  /** The last command's outcome: the node's (NCMD) and each device's (DCMD), by device id. */
  readonly commands: {
    readonly node?: CommandOutcome;
    readonly devices: ReadonlyMap<string, CommandOutcome>;
  };
}

export interface CommandOutcome {
  /** Commands received so far: every command changes it, so every outcome is published. */
  readonly count: number;
  /** downloading | accepted | rejected */
  readonly status: string;
  readonly reason: string;
  readonly campaign?: number;
}

/** Health states in which a device is reported dead (DDEATH) until it is heard again. */
const DEAD = new Set(['down', 'unreachable']);

/** The Sparkplug device id of an MCU: its bus address, which stays when names change. */
export function deviceId(address: number): string {
  return `mcu-0x${address.toString(16).padStart(2, '0')}`;
}

export function addressOf(id: string): number | undefined {
  const m = /^mcu-0x([0-9a-f]{2})$/.exec(id);
  return m ? Number.parseInt(m[1]!, 16) : undefined;
}

export function buildSnapshot(v: FleetViews): Snapshot {
  const health = new Map(v.health.map((h) => [h.address, h]));
  const devices = new Map<string, Metric[]>();
  for (const d of v.status.devices) {
    const h = health.get(d.address);
    if (h !== undefined && DEAD.has(h.state)) continue;
    const id = deviceId(d.address);
    devices.set(id, deviceMetrics(d, h, v, v.commands.devices.get(id)));
  }
  return { node: nodeMetrics(v), devices };
}

function nodeMetrics(v: FleetViews): Metric[] {
  const out: Metric[] = [
    metric('Properties/Version', 'String', v.status.version),
    metric('Properties/Started', 'DateTime', v.status.startedAtMs),
    metric(NODE_UPDATE, 'String', ''),
    metric(NODE_UPDATE_MANIFEST, 'String', ''),
  ];
  for (const b of v.status.buses) {
    out.push(metric(`Buses/${b.name}/State`, 'String', b.state));
    const t = v.traffic?.buses.get(b.name);
    if (v.traffic) out.push(...trafficMetrics(`Buses/${b.name}`, t));
  }
  const last = v.campaigns.reduce<CampaignView | undefined>((a, c) => (a && a.id > c.id ? a : c), undefined);
  out.push(
    metric('Campaign/Id', 'UInt32', last?.id),
    metric('Campaign/State', 'String', last?.state),
    metric('Campaign/Items', 'UInt32', last?.items.length),
    metric('Campaign/Items Done', 'UInt32', last?.items.filter((i) => i.state === 'done').length),
    ...commandMetrics(v.commands.node),
  );
  return out;
}

function deviceMetrics(
  d: DeviceView,
  h: HealthView | undefined,
  v: FleetViews,
  command: CommandOutcome | undefined,
): Metric[] {
  const t = v.time.find((x) => x.address === d.address);
  const u = v.updates.find((x) => x.device === d.address);
  const out: Metric[] = [
    metric('Properties/Address', 'UInt32', d.address),
    metric('Properties/Name', 'String', d.name),
    metric('Properties/Hardware Id', 'String', d.hardwareId),
    metric('Properties/Hardware Rev', 'UInt32', d.hardwareRev),
    metric('Properties/Bus', 'String', d.bus),
    metric('Properties/Via', 'UInt32', d.via),
    metric('Versions/Firmware', 'String', d.firmwareVersion),
    metric('Versions/Bootloader', 'String', d.bootloaderVersion),
    metric('Mode', 'String', d.mode),
    metric('Health/State', 'String', h?.state ?? 'unknown'),
    metric('Health/Level', 'String', h?.healthLevel),
    metric('Health/Reset Count', 'UInt32', h?.resetCount),
    metric('Health/Crash Loop', 'Boolean', h?.crashLoop),
    metric('Health/RTT ms', 'Double', h?.lastRttMs),
    metric('Clock/Synced', 'Boolean', t?.synced),
    metric('Clock/Method', 'String', t?.method),
    metric('Clock/Offset us', 'Double', t?.offsetUs),
    metric('Clock/Bound us', 'Double', t?.boundUs),
    metric('Clock/Skew ppm', 'Double', t?.skewPpm),
    metric('Counters/Time Samples', 'UInt64', t?.counters.samples),
    metric('Counters/Time Outliers', 'UInt64', t?.counters.outliers),
    metric('Counters/Time Jumps', 'UInt64', t?.counters.jumps),
    metric('Counters/Time Failed', 'UInt64', t?.counters.failed),
  ];
  if (v.traffic) out.push(...trafficMetrics('Counters', v.traffic.devices.get(d.address)));
  out.push(
    metric('Update/Phase', 'String', u?.phase),
    metric('Update/Version', 'String', u?.version),
    metric('Update/Detail', 'String', u?.detail),
    metric('Update/Acked Bytes', 'UInt64', u?.acked),
    metric('Update/Size Bytes', 'UInt64', u?.size),
    metric(DEVICE_UPDATE, 'String', ''),
    metric(DEVICE_UPDATE_MANIFEST, 'String', ''),
    ...commandMetrics(command),
  );
  // Channels appear as devices send them; a new channel is a new DBIRTH (sparkplug-node.ts).
  const channels = [...(v.telemetry.get(d.address) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0]);
  for (const [channel, value] of channels) out.push(metric(`Telemetry/Channel ${channel}`, 'Double', value));
  return out;
}

function trafficMetrics(prefix: string, t: Readonly<Traffic> | undefined): Metric[] {
  return [
    metric(`${prefix}/Frames Received`, 'UInt64', t?.rxFrames ?? 0),
    metric(`${prefix}/Frames Sent`, 'UInt64', t?.txFrames ?? 0),
    metric(`${prefix}/Bytes Received`, 'UInt64', t?.rxBytes ?? 0),
    metric(`${prefix}/Bytes Sent`, 'UInt64', t?.txBytes ?? 0),
  ];
}

function commandMetrics(c: CommandOutcome | undefined): Metric[] {
  return [
    metric('Command/Count', 'UInt32', c?.count ?? 0),
    metric('Command/Status', 'String', c?.status),
    metric('Command/Reason', 'String', c?.reason),
    metric('Command/Campaign', 'UInt32', c?.campaign),
  ];
}
