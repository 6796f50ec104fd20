import type { BusView, DaemonApi, DeviceView, EventView, PingResult, StatusView } from './daemon-api.js';

/**
 * An in-memory DaemonApi for tests and for trying the CLI without hardware: fixed devices and buses,
 * an event log with `emit()`, a ping that answers for known devices, and a request that echoes.
 */
export class FakeDaemonApi implements DaemonApi {
  readonly startedAtMs: number;
  devicesList: DeviceView[];
  buses: BusView[];
  readonly log: EventView[] = [];
  private readonly listeners = new Set<(e: EventView) => void>();
  private nextId = 1;
  /** The calls received, for assertions. */
  readonly calls: { method: string; args: unknown[] }[] = [];

  constructor(
    opts: { now?: () => number; devices?: DeviceView[]; buses?: BusView[]; version?: string } = {},
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
