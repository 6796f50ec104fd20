import type { TraceQuery, TraceRecord } from '../trace/trace-record.js';
import type {
  BusView,
  CampaignPlanItem,
  CampaignStartRequest,
  CampaignView,
  DaemonApi,
  DeviceView,
  EventView,
  HealthView,
  PingResult,
  StatusView,
  TelemetryQuery,
  TelemetryView,
  TimeView,
  UpdateRequest,
  UpdateStatusView,
} from './daemon-api.js';

/**
 * An in-memory DaemonApi for tests and for trying the CLI without hardware: fixed devices and buses,
 * an event log with `emit()`, a ping that answers for known devices, and a request that echoes.
 * Health: devices in each interesting state (up, unreachable via the gateway, suspect, down, a zombie in
 * a crash loop) and a seeded history of `health.state` / `health.reset` events; health events passed to
 * `emit()` join that history.
 */
export class FakeDaemonApi implements DaemonApi {
  readonly startedAtMs: number;
  devicesList: DeviceView[];
  buses: BusView[];
  healthList: HealthView[];
  /** Seeded health events (kept out of `log`, so `events()` is unaffected). */
  healthHistory: EventView[];
  timeList: TimeView[];
  /** Telemetry, oldest first: two devices sampling the same signal at interleaved instants. */
  telemetryRows: TelemetryView[];
  readonly log: EventView[] = [];
  private readonly listeners = new Set<(e: EventView) => void>();
  private nextId = 1;
  /** The calls received, for assertions. */
  readonly calls: { method: string; args: unknown[] }[] = [];

  constructor(
    opts: {
      now?: () => number;
      devices?: DeviceView[];
      buses?: BusView[];
      health?: HealthView[];
      healthHistory?: EventView[];
      version?: string;
    } = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.startedAtMs = this.now() - 3_723_000;
    this.version = opts.version ?? '0.1.0';
    const t = this.now();
    this.devicesList = opts.devices ?? [
      {
        address: 0x10,
        name: 'gateway',
        hardwareId: 'gw-board',
        hardwareRev: 2,
        firmwareVersion: '1.4.0',
        bootloaderVersion: '0.9.1',
        mode: 'app',
        bus: 'uart0',
        via: null,
        hops: 0,
        firstSeenMs: t - 60_000,
        lastSeenMs: t - 3_000,
      },
      {
        address: 0x21,
        name: 'motor-left',
        firmwareVersion: '1.2.0',
        bootloaderVersion: '0.9.0',
        mode: 'bootloader',
        bus: 'uart0',
        via: 0x10,
        hops: 1,
        firstSeenMs: t - 50_000,
        lastSeenMs: t - 125_000,
      },
    ];
    this.buses = opts.buses ?? [
      { name: 'uart0', kind: 'uart', state: 'open', counters: { framesIn: 10, framesOut: 12 } },
      { name: 'can0', kind: 'can', state: 'lost', detail: 'ENODEV', counters: {} },
    ];
    this.timeList = [
      {
        address: 0x10,
        name: 'gateway',
        epoch: 1,
        method: 'direct',
        synced: true,
        offsetUs: 1_234_567,
        skewPpm: 41.97,
        boundUs: 23.4,
        samplesUsed: 32,
        samplesInWindow: 1200,
        exchangePeriodMs: 250,
        rttMinUs: 6.2,
        counters: { samples: 5000, outliers: 2, jumps: 0, rejected: 0, failed: 3 },
      },
      {
        address: 0x21,
        name: 'motor-left',
        epoch: 2,
        method: 'via_gateway',
        synced: true,
        offsetUs: -5_000_123,
        skewPpm: -87.2,
        boundUs: 31.9,
        samplesUsed: 8,
        gateway: 0x10,
        mapAgeMs: 1200,
        counters: { samples: 0, outliers: 0, jumps: 0, rejected: 0, failed: 0 },
      },
    ];
    // Sample instants 50 ms apart, alternating devices; each device's raw clock is far from the host's.
    this.telemetryRows = Array.from({ length: 6 }, (_, i) => {
      const device = i % 2 === 0 ? 0x10 : 0x21;
      const alignedUs = (t - 10_000) * 1000 + i * 50_000;
      return {
        id: i + 1,
        device,
        channel: 1,
        epoch: 1,
        deviceUs: device === 0x10 ? 7_000_000 + i * 50_000 : 90_000_000 + i * 50_000,
        value: 1000 + i,
        receivedMs: t - 9_000,
        alignedUs,
        boundUs: 25,
      };
    });
    this.healthList = opts.health ?? [
      {
        address: 0x10,
        name: 'gateway',
        state: 'up',
        mode: 'app',
        healthLevel: 'ok',
        via: null,
        lastHeartbeatMs: t - 400,
        expectedIntervalMs: 1000,
        resetCount: 0,
        crashLoop: false,
        lastRttMs: 1.8,
      },
      {
        address: 0x21,
        name: 'motor-left',
        state: 'unreachable',
        mode: 'bootloader',
        healthLevel: 'ok',
        via: 0x10,
        lastHeartbeatMs: t - 125_000,
        expectedIntervalMs: 500,
        resetCount: 1,
        crashLoop: false,
      },
      {
        address: 0x22,
        name: 'motor-right',
        state: 'suspect',
        mode: 'app',
        healthLevel: 'warning',
        via: null,
        lastHeartbeatMs: t - 2_600,
        expectedIntervalMs: 1000,
        resetCount: 0,
        crashLoop: false,
        lastRttMs: 4.2,
      },
      {
        address: 0x23,
        name: 'sensor',
        state: 'down',
        mode: 'app',
        healthLevel: 'ok',
        via: null,
        lastHeartbeatMs: t - 42_000,
        expectedIntervalMs: 2000,
        resetCount: 2,
        crashLoop: false,
      },
      {
        address: 0x30,
        name: 'pump',
        state: 'zombie',
        mode: 'safe',
        healthLevel: 'error',
        via: null,
        lastHeartbeatMs: t - 900,
        expectedIntervalMs: 1000,
        resetCount: 5,
        crashLoop: true,
        lastRttMs: 3.1,
      },
    ];
    this.healthHistory = opts.healthHistory ?? [
      healthEvent(9001, t - 60_000, 0x30, 'health.state', 'info', 'pump unknown → up', {
        from: 'unknown',
        to: 'up',
      }),
      healthEvent(9002, t - 30_000, 0x30, 'health.reset', 'warning', 'pump reset (watchdog), reset count 4', {
        reason: 'watchdog',
        resetCount: 4,
      }),
      healthEvent(9003, t - 20_000, 0x30, 'health.reset', 'warning', 'pump reset (watchdog), reset count 5', {
        reason: 'watchdog',
        resetCount: 5,
      }),
      healthEvent(
        9004,
        t - 20_000,
        0x30,
        'health.state',
        'error',
        'pump up → zombie (crash loop: 3 resets in 60 s)',
        {
          from: 'up',
          to: 'zombie',
        },
      ),
      healthEvent(9005, t - 50_000, 0x23, 'health.state', 'warning', 'sensor up → suspect', {
        from: 'up',
        to: 'suspect',
      }),
      healthEvent(9006, t - 40_000, 0x23, 'health.state', 'error', 'sensor suspect → down', {
        from: 'suspect',
        to: 'down',
      }),
      healthEvent(9007, t - 2_000, 0x22, 'health.state', 'warning', 'motor-right up → suspect', {
        from: 'up',
        to: 'suspect',
      }),
      healthEvent(
        9008,
        t - 124_000,
        0x21,
        'health.state',
        'warning',
        'motor-left up → unreachable (gateway 0x10)',
        {
          from: 'up',
          to: 'unreachable',
          via: 0x10,
        },
      ),
    ];
  }

  private readonly now: () => number;
  private readonly version: string;

  /** Appends an event to the log and delivers it to subscribers. */
  emit(e: Omit<EventView, 'id' | 'atMs'> & { atMs?: number }): EventView {
    const ev: EventView = { ...e, id: this.nextId++, atMs: e.atMs ?? this.now() };
    this.log.push(ev);
    for (const l of [...this.listeners]) l(ev);
    return ev;
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  status(): StatusView {
    const now = this.now();
    return {
      version: this.version,
      startedAtMs: this.startedAtMs,
      uptimeMs: now - this.startedAtMs,
      buses: this.buses,
      devices: this.devicesList,
    };
  }
  devices(): DeviceView[] {
    return this.devicesList;
  }
  device(address: number): DeviceView | undefined {
    return this.devicesList.find((d) => d.address === address);
  }
  events(query: { sinceId?: number; device?: number; limit?: number }): EventView[] {
    this.calls.push({ method: 'events', args: [query] });
    let list = this.log.filter((e) => query.device === undefined || e.device === query.device);
    if (query.sinceId !== undefined) {
      const since = query.sinceId;
      list = list.filter((e) => e.id > since);
      return query.limit ? list.slice(0, query.limit) : list;
    }
    list = [...list].reverse();
    return list.slice(0, query.limit ?? 100);
  }
  health(): HealthView[] {
    this.calls.push({ method: 'health', args: [] });
    return this.healthList;
  }
  healthOf(address: number, limit?: number): { health: HealthView; history: EventView[] } | undefined {
    this.calls.push({ method: 'healthOf', args: [address, limit] });
    const health = this.healthList.find((h) => h.address === address);
    if (!health) return undefined;
    const history = [...this.healthHistory, ...this.log]
      .filter((e) => e.device === address && e.kind.startsWith('health.'))
      .sort((a, b) => b.atMs - a.atMs || b.id - a.id)
      .slice(0, limit ?? 50);
    return { health, history };
  }
  /** Two clocks: the gateway timed directly, a node through it. */
  time(): TimeView[] {
    this.calls.push({ method: 'time', args: [] });
    return this.timeList;
  }

  telemetry(query: TelemetryQuery): TelemetryView[] {
    this.calls.push({ method: 'telemetry', args: [query] });
    const rows = this.telemetryRows.filter(
      (r) =>
        (query.device === undefined || r.device === query.device) &&
        (query.channel === undefined || r.channel === query.channel) &&
        (query.sinceId === undefined || r.id > query.sinceId),
    );
    const ordered = query.sinceId === undefined ? [...rows].reverse() : rows;
    return ordered.slice(0, query.limit ?? 1000);
  }

  /** Two traces: a ping answered on the UART, one to 0x21 lost behind the gateway. */
  traceList: TraceRecord[] = [
    {
      id: 7,
      wallMs: 1_700_000_000_000,
      bus: 'uart0',
      dir: 'out',
      src: 0,
      dst: 0x10,
      seq: 41,
      type: 'ping',
      size: 16,
      outcome: 'answered',
      attempts: 1,
      rttUs: 2300,
      losses: [],
      hops: [
        { atUs: 1_000_000, node: 'host', bus: 'uart0', event: 'sent', what: 'request, attempt 1' },
        { atUs: 1_002_300, node: 'host', bus: 'uart0', event: 'received', what: 'answer' },
      ],
    },
    {
      id: 8,
      wallMs: 1_700_000_000_500,
      bus: 'uart0',
      dir: 'out',
      src: 0,
      dst: 0x21,
      seq: 42,
      type: 'ping',
      size: 16,
      outcome: 'answered',
      attempts: 2,
      rttUs: 4100,
      hop: 'can0 0x10→0x21',
      cause: 'forwarded by 0x10 on can0, never reached 0x21',
      losses: [
        {
          hop: 'can0 0x10–0x21',
          direction: 'request',
          count: 1,
          cause: 'forwarded by 0x10 on can0, never reached 0x21',
        },
      ],
      hops: [
        { atUs: 1_500_000, node: 'host', bus: 'uart0', event: 'sent', what: 'request, attempt 1' },
        { atUs: 1_501_900, node: 0x10, bus: 'can0', event: 'forwarded', what: 'request' },
        { atUs: 2_500_000, node: 'host', bus: 'uart0', event: 'sent', what: 'request, attempt 2' },
        { atUs: 2_501_900, node: 0x10, bus: 'can0', event: 'forwarded', what: 'request (copy)' },
        { atUs: 2_503_000, node: 0x10, bus: 'uart0', event: 'forwarded', what: 'answer' },
        { atUs: 2_504_100, node: 'host', bus: 'uart0', event: 'received', what: 'answer' },
      ],
    },
  ];

  traces(query: TraceQuery): TraceRecord[] {
    this.calls.push({ method: 'traces', args: [query] });
    return [...this.traceList]
      .reverse()
      .filter(
        (t) =>
          (query.device === undefined || t.dst === query.device || t.src === query.device) &&
          (!query.problems || t.attempts > 1 || t.outcome !== 'answered'),
      )
      .slice(0, query.limit ?? 100);
  }

  trace(id: number): TraceRecord | undefined {
    this.calls.push({ method: 'trace', args: [id] });
    return this.traceList.find((t) => t.id === id);
  }

  /** Updates: 0x21 mid-transfer; starting one for an unknown device is refused. */
  updateList: UpdateStatusView[] = [
    {
      device: 0x21,
      version: '1.3.0',
      kind: 'app',
      phase: 'transfer',
      detail: 'sending',
      size: 262_144,
      acked: 131_072,
      resumedFrom: 0,
      sentBytes: 135_168,
      retransmittedBytes: 1024,
      chunkSize: 512,
      window: 8,
      rateBps: 10_100,
      etaS: 13,
    },
  ];

  startUpdate(
    address: number,
    request: UpdateRequest,
  ): { ok: true } | { ok: false; code: string; message: string } {
    this.calls.push({
      method: 'startUpdate',
      args: [address, { ...request, image: request.image.length, envelope: request.envelope.length }],
    });
    if (!this.devicesList.some((d) => d.address === address))
      return { ok: false, code: 'unknown_device', message: `no device at 0x${address.toString(16)}` };
    // The fake finishes at once.
    this.updateList = [
      ...this.updateList.filter((u) => u.device !== address),
      {
        device: address,
        version: '9.9.9',
        kind: 'app',
        phase: 'done',
        detail: 'running 9.9.9, confirmed',
        size: request.image.length,
        acked: request.image.length,
        resumedFrom: 0,
        sentBytes: request.image.length,
        retransmittedBytes: 0,
        chunkSize: 512,
        window: 8,
        rateBps: 10_000,
        etaS: null,
      },
    ];
    return { ok: true };
  }

  updates(): UpdateStatusView[] {
    this.calls.push({ method: 'updates', args: [] });
    return this.updateList;
  }

  readonly campaignList: CampaignView[] = [];

  startCampaign(request: CampaignStartRequest, dryRun: boolean): { id?: number; plan: CampaignPlanItem[] } {
    this.calls.push({ method: 'startCampaign', args: [request, dryRun] });
    const plan = request.items.map((i, step) => ({ device: i.device, bus: 'uart0', step, version: '9.9.9' }));
    if (dryRun) return { plan };
    const id = this.campaignList.length + 1;
    // The fake finishes at once.
    this.campaignList.push({
      id,
      createdMs: this.now(),
      state: 'finished',
      items: plan.map((p) => ({
        device: p.device,
        bus: p.bus,
        step: p.step,
        state: 'done',
        detail: 'running 9.9.9, confirmed',
      })),
    });
    return { id, plan };
  }

  campaigns(): CampaignView[] {
    return this.campaignList;
  }

  cancelCampaign(id: number): boolean {
    this.calls.push({ method: 'cancelCampaign', args: [id] });
    return this.campaignList.some((c) => c.id === id && c.state === 'running');
  }

  cancelUpdate(address: number): boolean {
    this.calls.push({ method: 'cancelUpdate', args: [address] });
    return this.updateList.some((u) => u.device === address);
  }

  subscribe(listener: (event: EventView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async ping(address: number, timeoutMs?: number): Promise<PingResult> {
    this.calls.push({ method: 'ping', args: [address, timeoutMs] });
    if (!this.device(address)) return { ok: false, attempts: 3, error: 'timeout' };
    return { ok: true, rttMs: 2.5, attempts: 1 };
  }
  async request(
    address: number,
    message: { type: string; body: unknown },
    timeoutMs?: number,
  ): Promise<{ ok: boolean; answer?: { type: string; body: unknown }; error?: string }> {
    this.calls.push({ method: 'request', args: [address, message, timeoutMs] });
    if (message.type === 'explode') throw new Error('boom');
    if (!this.device(address)) return { ok: false, error: 'timeout' };
    return { ok: true, answer: { type: `${message.type}_ack`, body: message.body } };
  }
}

function healthEvent(
  id: number,
  atMs: number,
  device: number,
  kind: 'health.state' | 'health.reset',
  severity: EventView['severity'],
  message: string,
  data: Record<string, unknown>,
): EventView {
  return { id, atMs, kind, severity, message, device, data };
}
