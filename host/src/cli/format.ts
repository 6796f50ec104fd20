import type {
  BusView,
  DeviceView,
  EventView,
  HealthView,
  PingResult,
  StatusView,
  TelemetryView,
  TimeView,
  UpdateStatusView,
} from '../api/daemon-api.js';
import { formatAddress } from '../api/http-util.js';

/** "3 s ago", "5 min ago", "2 h ago", "4 d ago"; "in the future" for clock skew. */
export function formatAgo(thenMs: number, nowMs: number): string {
  const d = nowMs - thenMs;
  if (d < -1000) return 'in the future';
  const s = Math.max(0, Math.floor(d / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** Like formatAgo, with tenths of a second under 10 s ("0.4 s ago"), for heartbeats. */
export function formatAgoFine(thenMs: number, nowMs: number): string {
  const d = nowMs - thenMs;
  if (d < -1000 || d >= 10_000) return formatAgo(thenMs, nowMs);
  return `${(Math.max(0, d) / 1000).toFixed(1)} s ago`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/** Left-aligned columns separated by two spaces; trailing spaces trimmed. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatRoute(d: DeviceView): string {
  if (d.via === null) return 'direct';
  return `via ${formatAddress(d.via)}${d.hops > 1 ? ` (${d.hops} hops)` : ''}`;
}

export function deviceTable(devices: readonly DeviceView[], nowMs: number): string {
  if (devices.length === 0) return 'no devices known';
  const rows = [...devices]
    .sort((a, b) => a.address - b.address)
    .map((d) => [
      formatAddress(d.address),
      d.name ?? '-',
      d.bus,
      formatRoute(d),
      d.mode,
      d.firmwareVersion ?? '-',
      d.bootloaderVersion ?? '-',
      formatAgo(d.lastSeenMs, nowMs),
    ]);
  return table(['ADDRESS', 'NAME', 'BUS', 'ROUTE', 'MODE', 'FIRMWARE', 'BOOTLOADER', 'LAST SEEN'], rows);
}

export function busLine(b: BusView): string {
  return `bus ${b.name} (${b.kind}): ${b.state}${b.detail ? ` — ${b.detail}` : ''}`;
}

export function formatStatus(s: StatusView, nowMs: number): string {
  const n = s.devices.length;
  const lines = [
    `mcubusd ${s.version}, up ${formatDuration(s.uptimeMs)}, ${n} device${n === 1 ? '' : 's'}`,
    '',
    deviceTable(s.devices, nowMs),
    '',
  ];
  if (s.buses.length === 0) lines.push('no buses configured');
  for (const b of s.buses) lines.push(busLine(b));
  return lines.join('\n');
}

export function formatDevice(d: DeviceView, nowMs: number): string {
  const rows: [string, string][] = [
    ['address', formatAddress(d.address)],
    ['name', d.name ?? '-'],
    [
      'hardware',
      d.hardwareId ? `${d.hardwareId}${d.hardwareRev !== undefined ? ` rev ${d.hardwareRev}` : ''}` : '-',
    ],
    ['bus', d.bus],
    ['route', formatRoute(d)],
    ['mode', d.mode],
    ['firmware', d.firmwareVersion ?? '-'],
    ['bootloader', d.bootloaderVersion ?? '-'],
    ['first seen', formatAgo(d.firstSeenMs, nowMs)],
    ['last seen', formatAgo(d.lastSeenMs, nowMs)],
  ];
  return rows.map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`).join('\n');
}

export function formatEvent(e: EventView): string {
  const where = e.device !== undefined ? formatAddress(e.device) : (e.bus ?? '-');
  return `${new Date(e.atMs).toISOString()}  ${e.severity.padEnd(7)}  ${where.padEnd(5)}  ${e.kind}: ${e.message}`;
}

export function formatPing(address: number, r: PingResult): string {
  if (!r.ok) return `${formatAddress(address)}: no answer${r.error ? ` (${r.error})` : ''}`;
  const rtt = r.rttMs !== undefined ? ` in ${r.rttMs.toFixed(1)} ms` : '';
  const att = r.attempts !== undefined ? ` (${r.attempts} attempt${r.attempts === 1 ? '' : 's'})` : '';
  return `${formatAddress(address)}: pong${rtt}${att}`;
}

function healthRoute(h: HealthView): string {
  return h.via === null ? 'direct' : `via ${formatAddress(h.via)}`;
}

function healthResets(h: HealthView): string {
  const n = h.resetCount !== undefined ? String(h.resetCount) : '-';
  return h.crashLoop ? `${n} (crash loop)` : n;
}

function healthHeartbeat(h: HealthView, nowMs: number): string {
  return h.lastHeartbeatMs !== undefined ? formatAgoFine(h.lastHeartbeatMs, nowMs) : 'never';
}

function healthInterval(h: HealthView): string {
  return h.expectedIntervalMs !== undefined ? `${Math.round(h.expectedIntervalMs)} ms` : '-';
}

export function healthTable(list: readonly HealthView[], nowMs: number): string {
  if (list.length === 0) return 'no devices known';
  const rows = [...list]
    .sort((a, b) => a.address - b.address)
    .map((h) => [
      formatAddress(h.address),
      h.name ?? '-',
      h.state,
      h.mode ?? '-',
      h.healthLevel ?? '-',
      healthRoute(h),
      healthHeartbeat(h, nowMs),
      healthInterval(h),
      healthResets(h),
    ]);
  return table(
    ['ADDRESS', 'NAME', 'STATE', 'MODE', 'HEALTH', 'ROUTE', 'LAST HEARTBEAT', 'INTERVAL', 'RESETS'],
    rows,
  );
}

/** One device's health in detail, then its health events newest first (as `formatEvent`). */
export function formatHealth(h: HealthView, history: readonly EventView[], nowMs: number): string {
  const rows: [string, string][] = [
    ['address', formatAddress(h.address)],
    ['name', h.name ?? '-'],
    ['state', h.state],
    ['mode', h.mode ?? '-'],
    ['health', h.healthLevel ?? '-'],
    ['route', healthRoute(h)],
    ['heartbeat', healthHeartbeat(h, nowMs)],
    ['interval', healthInterval(h)],
    ['resets', h.resetCount !== undefined ? String(h.resetCount) : '-'],
    ['crash loop', h.crashLoop ? 'yes' : 'no'],
    ['last rtt', h.lastRttMs !== undefined ? `${h.lastRttMs.toFixed(1)} ms` : '-'],
  ];
  const lines = rows.map(([k, v]) => `${`${k}:`.padEnd(12)}${v}`);
  lines.push('');
  if (history.length === 0) lines.push('no health events');
  else {
    lines.push('history (newest first):');
    for (const e of [...history].sort((a, b) => b.atMs - a.atMs || b.id - a.id)) lines.push(formatEvent(e));
  }
  return lines.join('\n');
}

/** Wall-clock µs since the Unix epoch as ISO 8601 with microseconds. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = Math.floor(us - ms * 1000);
  return new Date(ms).toISOString().replace('Z', `${String(micros).padStart(3, '0')}Z`);
}

function num(v: number | undefined, digits: number, unit = ''): string {
  return v === undefined ? '-' : `${v.toFixed(digits)}${unit}`;
}

/** One line per device clock: how it maps onto the host's and how well. */
export function timeTable(list: readonly TimeView[]): string {
  if (list.length === 0) return 'no device clocks known yet';
  const rows = [...list]
    .sort((a, b) => a.address - b.address)
    .map((t) => [
      formatAddress(t.address),
      t.name ?? '-',
      t.method === 'direct'
        ? 'direct'
        : t.method === 'via_gateway'
          ? `via ${formatAddress(t.gateway ?? 0)}`
          : `direct through ${formatAddress(t.gateway ?? 0)}`,
      t.synced ? 'yes' : 'no',
      t.offsetUs === undefined ? '-' : `${t.offsetUs} µs`,
      num(t.skewPpm, 3, ' ppm'),
      t.boundUs === undefined ? '-' : `±${t.boundUs.toFixed(1)} µs`,
      t.samplesUsed === undefined
        ? '-'
        : t.samplesInWindow !== undefined
          ? `${t.samplesUsed}/${t.samplesInWindow}`
          : String(t.samplesUsed),
      t.exchangePeriodMs !== undefined
        ? `${t.exchangePeriodMs} ms`
        : t.mapAgeMs !== undefined
          ? `map ${(t.mapAgeMs / 1000).toFixed(1)} s old`
          : '-',
      String(t.epoch),
    ]);
  return table(
    ['ADDRESS', 'NAME', 'TIMED', 'SYNCED', 'OFFSET', 'SKEW', 'BOUND', 'SAMPLES', 'EXCHANGE', 'EPOCH'],
    rows,
  );
}

/**
 * Telemetry samples. Raw: as stored (device counter, arrival time). Aligned: every device's samples
 * on the one host timeline, in the order they were taken, with each one's error bound.
 */
export function telemetryTable(rows: readonly TelemetryView[], aligned: boolean): string {
  if (rows.length === 0) return 'no telemetry';
  if (!aligned) {
    const sorted = [...rows].sort((a, b) => a.id - b.id);
    return table(
      ['DEVICE', 'CHANNEL', 'EPOCH', 'DEVICE TIME (µs)', 'RECEIVED', 'VALUE'],
      sorted.map((r) => [
        formatAddress(r.device),
        String(r.channel),
        String(r.epoch),
        String(r.deviceUs),
        new Date(r.receivedMs).toISOString(),
        String(r.value),
      ]),
    );
  }
  const withTime = rows
    .filter((r) => r.alignedUs !== undefined)
    .sort((a, b) => (a.alignedUs ?? 0) - (b.alignedUs ?? 0));
  const without = rows.filter((r) => r.alignedUs === undefined).sort((a, b) => a.id - b.id);
  const body = [...withTime, ...without].map((r) => [
    r.alignedUs === undefined ? 'not aligned yet' : isoMicros(r.alignedUs),
    r.boundUs === undefined ? '-' : `±${r.boundUs.toFixed(1)} µs`,
    formatAddress(r.device),
    String(r.channel),
    String(r.value),
    String(r.deviceUs),
  ]);
  return table(['HOST TIME (ALIGNED)', 'BOUND', 'DEVICE', 'CHANNEL', 'VALUE', 'DEVICE TIME (µs)'], body);
}

const TERMINAL_PHASES = ['done', 'failed', 'rolled_back', 'cancelled'];

export function updateFinished(u: UpdateStatusView): boolean {
  return TERMINAL_PHASES.includes(u.phase);
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
}

/** One line of progress: phase, bar, bytes, rate, ETA (or the outcome). */
export function updateLine(u: UpdateStatusView): string {
  const pct = u.size > 0 ? Math.floor((100 * u.acked) / u.size) : 0;
  const bar = `[${'#'.repeat(Math.floor(pct / 5)).padEnd(20, '.')}]`;
  const rate = u.rateBps !== null ? `${(u.rateBps / 1000).toFixed(1)} kB/s` : '-';
  const eta = u.etaS !== null ? `ETA ${u.etaS} s` : '';
  const head = `${formatAddress(u.device)} ${u.kind} ${u.version}`;
  if (updateFinished(u)) return `${head}  ${u.phase}: ${u.detail}`;
  return `${head}  ${u.phase.padEnd(9)} ${bar} ${String(pct).padStart(3)}%  ${kib(u.acked)} / ${kib(u.size)}  ${rate}  ${eta}`.trimEnd();
}

export function updateTable(list: readonly UpdateStatusView[]): string {
  if (list.length === 0) return 'no updates';
  return table(
    ['DEVICE', 'VERSION', 'KIND', 'PHASE', 'PROGRESS', 'RATE', 'RETRANSMITTED', 'DETAIL'],
    list.map((u) => [
      formatAddress(u.device),
      u.version,
      u.kind,
      u.phase,
      `${kib(u.acked)} / ${kib(u.size)}${u.resumedFrom > 0 ? ` (resumed at ${kib(u.resumedFrom)})` : ''}`,
      u.rateBps !== null ? `${(u.rateBps / 1000).toFixed(1)} kB/s` : '-',
      kib(u.retransmittedBytes),
      u.detail,
    ]),
  );
}
