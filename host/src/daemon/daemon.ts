import type { KeyObject } from 'node:crypto';
import {
  DeviceMode,
  decodeEnvelope,
  decodeManifest,
  decodeRawFrame,
  enumName,
  HealthLevel,
  type Message,
  type MessageName,
} from '@mcubus/protocol';
import type {
  BusView,
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
} from '../api/daemon-api.js';
import { CaptureHub, type CaptureSink } from '../capture/capture-hub.js';
import { HealthMonitor } from '../health/monitor.js';
import { RegisterHealth, type RegisterProbe, thirdPartyAddress } from '../health/register-health.js';
import type { HealthEvent, HealthOutput } from '../health/types.js';
import {
  LinkCore,
  type LinkCounters,
  type LinkEvent,
  type LinkOutput,
  type RequestHandle,
} from '../link/core.js';
import type { CampaignRecord } from '../registry/campaigns.js';
import type { DeviceRecord } from '../registry/device-record.js';
import type { Severity } from '../registry/journal.js';
import type { Registry } from '../registry/registry.js';
import type { TelemetryRecord } from '../registry/telemetry.js';
import {
  type DeviceTimeView,
  type TimeEvent,
  type TimeOutput,
  TimeService,
  type TimeServiceConfig,
} from '../time/time-service.js';
import { DaemonTracing } from '../trace/daemon-tracing.js';
import type { TraceQuery, TraceRecord } from '../trace/trace-record.js';
import type { FrameTransport, TransportEvent, TxStampListener } from '../transports/transport.js';
import { type CampaignRequest, CampaignRunner, type PlanView } from '../update/campaigns.js';
import {
  type StallBound,
  UpdateManager,
  type UpdateOptions,
  UpdateRefused,
  type UpdateView,
} from '../update/manager.js';
import type { UpdateImage } from '../update/transfer.js';
import { HostRouter, type PinnedRoute } from './router.js';
import type { Runtime } from './runtime.js';

export interface DaemonLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface DaemonOptions {
  readonly version: string;
  readonly transports: readonly FrameTransport[];
  readonly runtime: Runtime;
  readonly registry: Registry;
  readonly log: DaemonLogger;
  /** Jitter source for retries; seed it in simulations. */
  readonly random: () => number;
  /** Routes from the configuration (pinned). */
  readonly routes?: readonly PinnedRoute[];
  readonly requestTimeoutMs?: number;
  readonly requestRetries?: number;
  /** Third-party Modbus devices to watch through register reads. */
  readonly registerProbes?: readonly RegisterProbe[];
  /** How often each register probe runs (default 1000 ms). */
  readonly registerProbePeriodMs?: number;
  /** Heartbeat period to negotiate with every device; absent = each keeps its own. */
  readonly heartbeatPeriodMs?: number;
  /** How often buffered last-seen times go to the registry. */
  readonly flushEveryMs?: number;
  /** Host-side time sync (docs/time.md); false turns it off. */
  readonly time?: TimeServiceConfig | false;
  /** Telemetry older than this is pruned (default 24 h). */
  readonly telemetryRetainMs?: number;
  /** Message traces older than this are pruned (default 24 h). */
  readonly traceRetainMs?: number;
  /** Public keys an image's manifest must be signed with (docs/updates.md). */
  readonly trustedKeys?: readonly KeyObject[];
  /** Slow retrieval / freeze bound of every update (config `updates.stallTimeoutS`, `minProgressBytes`). */
  readonly updateStall?: StallBound;
}

interface Waiter {
  resolve(event: LinkEvent): void;
}

/** How long after start unfinished campaigns resume: long enough to hear every device once. */
const CAMPAIGN_RESUME_DELAY_US = 3_000_000;
/** A device known from an earlier run has this long after a start before its first heartbeat is due. */
const EXPECT_GRACE_US = 5_000_000;

/** Bad input of one kind on one bus is journaled at most this often (it is always counted). */
const JOURNAL_BAD_INPUT_EVERY_MS = 10_000;

/**
 * mcubusd's core: buses in, one link layer, a router that learns where each device is, device
 * discovery into the registry, and the event journal. It implements the control API. It reads time
 * only through its Runtime, so tests run it against the simulated board in virtual time.
 */
export class Daemon implements DaemonApi {
  readonly #o: DaemonOptions;
  readonly #link: LinkCore;
  readonly #router: HostRouter;
  readonly #transports = new Map<string, FrameTransport>();
  readonly #busState = new Map<string, { state: string; detail?: string }>();
  readonly #waiters = new Map<RequestHandle, Waiter>();
  readonly #identifying = new Set<number>();
  readonly #subscribers = new Set<(e: EventView) => void>();
  /** Told each answered request's round trip (the RTT histogram of /metrics). */
  readonly #answerListeners = new Set<(device: number, rttUs: number) => void>();
  readonly #lastJournaled = new Map<string, number>();
  /**
   * What the hot path needs to know of registered devices, in memory: every received frame consults
   * it, and an SQLite query per heartbeat would cost more than everything else the daemon does.
   */
  readonly #known = new Map<number, { mode: number; bus: string; via: number | null; hops: number }>();
  #wake: { cancel(): void } | null = null;
  readonly #health = new HealthMonitor();
  #healthWake: { cancel(): void } | null = null;
  /** Requests that are health probes (their outcome goes to the monitor as a probe result). */
  readonly #probes = new Map<RequestHandle, number>();
  /** Last time each bus delivered a frame, and buses already reported silent. */
  readonly #busHeard = new Map<string, number>();
  readonly #busSilent = new Set<string>();
  #silenceTimer: { cancel(): void } | null = null;
  readonly #thirdParty: RegisterHealth[] = [];
  #probeTimer: { cancel(): void } | null = null;
  #flushTimer: { cancel(): void } | null = null;
  readonly #time: TimeService | null;
  /** Message lifecycle tracing (docs/observability.md "Tracing"). */
  readonly #tracing: DaemonTracing;
  #timeWake: { cancel(): void } | null = null;
  readonly #updates: UpdateManager;
  readonly #campaigns: CampaignRunner;
  /** Packet captures of the buses (docs/observability.md "Captures"). */
  readonly #capture: CaptureHub;
  #campaignTimer: { cancel(): void } | null = null;
  /** Time-sync requests in flight: link handle → device and the t1 they carry. */
  readonly #timeExchanges = new Map<RequestHandle, { device: number; t1: number }>();
  readonly #bootedAtUs = new Map<number, number>();
  #handle = 0;
  #startedAtMs = 0;
  #running = false;

  constructor(options: DaemonOptions) {
    this.#o = options;
    this.#link = new LinkCore({
      random: options.random,
      maxAttempts: (options.requestRetries ?? 3) + 1,
    });
    const pointToPoint = options.transports
      .filter((t) => t.kind === 'uart' || t.kind === 'sim')
      .map((t) => t.name);
    this.#router = new HostRouter(options.routes ?? [], pointToPoint);
    this.#time = options.time === false ? null : new TimeService(options.time ?? {});
    this.#tracing = new DaemonTracing({
      runtime: options.runtime,
      registry: options.registry,
      log: options.log,
      request: (dst, message, timeoutMs, maxAttempts) => this.#request(dst, message, timeoutMs, maxAttempts),
      toHostUs: (gw, at) => this.#time?.hostOf(gw, at, this.#o.runtime.nowUs())?.hostUs ?? null,
      ...(options.traceRetainMs !== undefined ? { retainMs: options.traceRetainMs } : {}),
    });
    this.#updates = new UpdateManager(
      {
        runtime: options.runtime,
        request: async (dst, message, timeoutMs, attempts) => {
          const e = await this.#request(dst, message, timeoutMs, attempts);
          if ((e.type === 'answer' || e.type === 'error_answer') && e.message.type !== 'unknown')
            return { ok: true, message: e.message };
          return { ok: false, reason: describeFailure(e) };
        },
        sendEvent: (dst, message) => this.#sendEvent(dst, message, 3),
        device: (address) => {
          const r = this.#o.registry.get(address);
          const route = this.#router.lookup(address);
          const t = route ? this.#transports.get(route.bus) : undefined;
          if (!r || !t) return undefined;
          return {
            hardwareId: r.hardwareId,
            firmwareVersion: r.firmwareVersion.split('.').map(Number),
            bootloaderVersion: r.bootloaderVersion.split('.').map(Number),
            ...securityCounterOf(r.hello),
            // The device's own largest frame (HELLO maxFrame) bounds it too: behind a gateway the
            // last hop may be smaller than the host's.
            mtu: Math.min(t.mtu, Number((r.hello as { maxFrame?: number }).maxFrame ?? t.mtu)),
            ackBatch: t.ackBatch ?? 1,
          };
        },
        journal: (kind, severity, message, extra) => this.#journal(kind, severity, message, extra),
        random: options.random,
      },
      options.trustedKeys ?? [],
      options.updateStall,
    );
    this.#campaigns = new CampaignRunner({
      registry: options.registry,
      nowMs: () => options.runtime.nowMs(),
      route: (device) => {
        const r = this.#o.registry.get(device);
        return r ? { bus: r.bus, via: r.via, hops: r.hops } : undefined;
      },
      running: (device, kind) => {
        const r = this.#o.registry.get(device);
        if (!r) return undefined;
        if (kind === 1) return { version: r.bootloaderVersion, confirmed: true };
        // HELLO slot flags: 1 active, 2 confirmed.
        const slots = (r.hello as { slots?: { index: number; flags: number }[] }).slots ?? [];
        const active = slots.find((s) => s.index < 2 && (s.flags & 1) !== 0);
        return {
          version: r.firmwareVersion,
          confirmed: active ? (active.flags & 2) !== 0 : true,
          ...(active ? { slot: active.index } : {}),
        };
      },
      identify: async (device) => {
        // The answer's HELLO updates the registry (#onLinkEvent) before this resolves.
        const period = this.#o.heartbeatPeriodMs;
        await this.#request(device, {
          type: 'identify',
          body: period !== undefined ? { heartbeatPeriodMs: period } : {},
        });
      },
      confirm: async (device, slot) => {
        const body = slot !== undefined ? { slot } : {};
        const e = await this.#request(device, { type: 'update_confirm', body });
        return e.type === 'answer' && e.message.type === 'ok';
      },
      update: (device, image, opts) => this.update(device, image, opts),
      cancelUpdate: (device) => this.cancelUpdate(device),
      journal: (kind, severity, message, extra) => this.#journal(kind, severity, message, extra),
      after: (ms, fn) => {
        this.#o.runtime.at(this.#o.runtime.nowUs() + ms * 1000, () => {
          if (this.#running) fn();
        });
      },
    });
    for (const r of options.registry.list()) this.#remember(r);
    for (const t of options.transports) {
      this.#transports.set(t.name, t);
      this.#busState.set(t.name, { state: 'starting' });
      t.onFrame((frame, info) => this.#onFrame(t, frame, info));
      t.onEvent((e) => this.#onTransportEvent(t, e));
    }
    this.#capture = new CaptureHub(options.transports, options.runtime, `mcubusd ${options.version}`);
  }

  #remember(r: DeviceRecord): void {
    this.#known.set(r.address, { mode: r.mode, bus: r.bus, via: r.via, hops: r.hops });
  }

  get router(): HostRouter {
    return this.#router;
  }

  /** Starts every bus; a bus that fails to start is journaled and the others keep going. */
  async start(): Promise<void> {
    this.#running = true;
    this.#startedAtMs = this.#o.runtime.nowMs();
    this.#journal(
      'daemon.start',
      'info',
      `mcubusd ${this.#o.version} starting with ${this.#transports.size} bus(es)`,
    );
    await Promise.all(
      [...this.#transports.values()].map(async (t) => {
        try {
          await t.start();
        } catch (e) {
          const retry = t.startInBackground !== undefined;
          const detail = (e as Error).message;
          this.#busState.set(t.name, { state: retry ? 'lost' : 'failed', detail });
          this.#journal(
            'bus.failed',
            'error',
            `bus ${t.name} did not start: ${detail}${retry ? '; retrying in the background' : ''}`,
            { bus: t.name },
          );
          // The other buses keep serving; this one keeps trying (a USB adapter plugged in later).
          t.startInBackground?.();
        }
      }),
    );
    this.#scheduleFlush();
    this.#scheduleSilenceCheck();
    // Devices known from an earlier run are watched from now: one that stays silent (powered off
    // while the daemon restarted) turns down instead of missing from health() for good.
    for (const [device, k] of this.#known) {
      const input = { type: 'expect', device, via: k.via, graceUs: EXPECT_GRACE_US } as const;
      this.#healthApply(this.#health.handle(input, this.#o.runtime.nowUs()));
    }
    this.#tracing.start();
    // Campaigns a previous run left unfinished carry on once the devices have been heard again (their
    // routes are learned from their frames).
    this.#campaignTimer = this.#o.runtime.at(this.#o.runtime.nowUs() + CAMPAIGN_RESUME_DELAY_US, () => {
      if (this.#running) this.#campaigns.resumeAll();
    });
    for (const p of this.#o.registerProbes ?? []) this.#thirdParty.push(new RegisterHealth(p));
    if (this.#thirdParty.length > 0) this.#scheduleRegisterProbes();
  }

  /** Reads every third-party device's registers once per period; results feed their health. */
  #scheduleRegisterProbes(): void {
    const period = (this.#o.registerProbePeriodMs ?? 1000) * 1000;
    this.#probeTimer = this.#o.runtime.at(this.#o.runtime.nowUs() + period, () => {
      if (!this.#running) return;
      for (const h of this.#thirdParty) {
        const t = this.#transports.get(h.probe.bus);
        const done = (outcome: { ok: true; values: number[] } | { ok: false; error: string }) => {
          const e = h.result(outcome, this.#o.runtime.nowUs());
          if (!e) return;
          // Not an mcubus device: journaled by bus, its pseudo-address in the data.
          const who = `modbus ${h.probe.bus} slave ${h.probe.slave}`;
          const severity: Severity = e.to === 'down' ? 'error' : e.to === 'up' ? 'info' : 'warning';
          this.#journal(
            'health.state',
            severity,
            `${who}: ${e.from} → ${e.to}${e.evidence.reason ? ` (${e.evidence.reason})` : ''}`,
            {
              bus: h.probe.bus,
              data: { thirdParty: e.device, from: e.from, to: e.to, evidence: e.evidence },
            },
          );
        };
        if (!t?.readRegisters) {
          done({ ok: false, error: `bus ${h.probe.bus} cannot read registers` });
          continue;
        }
        t.readRegisters(h.probe.slave, h.probe.fn, h.probe.start, h.probe.quantity).then(
          (values) => done({ ok: true, values }),
          (err: unknown) => done({ ok: false, error: (err as Error).message }),
        );
      }
      this.#scheduleRegisterProbes();
    });
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#wake?.cancel();
    this.#flushTimer?.cancel();
    this.#healthWake?.cancel();
    this.#silenceTimer?.cancel();
    this.#probeTimer?.cancel();
    this.#timeWake?.cancel();
    this.#updates.stop();
    this.#campaigns.stop();
    this.#campaignTimer?.cancel();
    this.#tracing.stop();
    await Promise.all([...this.#transports.values()].map((t) => t.stop().catch(() => undefined)));
    this.#journal('daemon.stop', 'info', 'mcubusd stopped');
    this.#o.registry.flush();
  }

  // ── frames in ────────────────────────────────────────────────────────────────────────────────

  #onFrame(t: FrameTransport, frame: Uint8Array, info: { from?: number; rxUs: number }): void {
    if (!this.#running) return;
    const raw = decodeRawFrame(frame);
    if (raw.ok && raw.value.header.src !== 0) {
      const h = raw.value.header;
      const changed = this.#router.learn(h.src, h.ttl, t.name, info.from);
      if (changed) {
        this.#o.log.debug(
          { device: h.src, bus: t.name, via: changed.via, hops: changed.hops },
          'route learned',
        );
      }
      // The registry keeps the route with the identity: ask again so both stay in step — on every frame
      // that still shows a route other than the registry's, not only when it changes: an IDENTIFY lost
      // or still in flight when the route changed back left a wrong route (and a gateway-timed node
      // timed as direct) for 20 minutes (found by the soak, seed 1 on the large board).
      const known = this.#known.get(h.src);
      const route = this.#router.lookup(h.src);
      if (
        known &&
        route &&
        (known.bus !== route.bus || known.via !== route.via || known.hops !== route.hops)
      ) {
        this.#identify(h.src);
      }
      // Nodes heard before their gateway got their gateway filled in: refresh their registry entries.
      for (const address of this.#router.takeFilled()) if (this.#known.has(address)) this.#identify(address);
    }
    this.#apply(
      this.#link.handle(
        { type: 'frame', bytes: frame, bus: t.name, rxUs: info.rxUs },
        this.#o.runtime.nowUs(),
      ),
    );
  }

  #apply(out: LinkOutput): void {
    for (const f of out.send) {
      const route = this.#router.lookup(f.dst);
      const transport = route ? this.#transports.get(route.bus) : undefined;
      if (!route || !transport) {
        if (f.handle !== undefined) {
          this.#apply(this.#link.handle({ type: 'cancel', handle: f.handle }, this.#o.runtime.nowUs()));
        }
        continue;
      }
      this.#tracing.sent(f, route);
      transport.send(f.bytes, route.nextHop, f.priority, this.#txStampListener(f.handle));
    }
    for (const e of out.emit) this.#onLinkEvent(e);
    this.#wake?.cancel();
    const wakeAt = out.wakeAt ?? 0;
    this.#wake =
      out.wakeAt === undefined || !this.#running
        ? null
        : this.#o.runtime.at(out.wakeAt, () =>
            // Never tick before the deadline the core asked for (µs/ns rounding would make it ask again).
            this.#apply(this.#link.handle({ type: 'tick' }, Math.max(this.#o.runtime.nowUs(), wakeAt))),
          );
  }

  #onLinkEvent(e: LinkEvent): void {
    this.#tracing.linkEvent(e);
    switch (e.type) {
      case 'answer':
      case 'timeout':
      case 'error_answer':
      case 'cancelled':
        if (e.type === 'answer') for (const l of this.#answerListeners) l(e.dst, e.rttUs);
        if (e.type === 'answer' && e.message.type === 'hello')
          this.#onHello(e.header.src, e.message.body, e.bus, false);
        if (this.#timeExchanges.has(e.handle)) {
          // A time-sync exchange is best effort with a short deadline: one that waited behind an
          // update's chunks and timed out says nothing about the device's health.
          this.#onTimeExchangeDone(e);
          if (e.type === 'answer') this.#healthOfRequest(e);
        } else this.#healthOfRequest(e);
        this.#settle(e.handle, e);
        return;
      case 'rejected':
        if (e.handle !== undefined) this.#settle(e.handle, e);
        return;
      case 'unsolicited':
        this.#onUnsolicited(e.header.src, e.message, e.bus);
        return;
      case 'bad_frame':
        this.#rateLimitedJournal(
          `${e.bus}:${e.error.code}`,
          'bus.bad_frame',
          'warning',
          `bad frame on ${e.bus}: ${e.error.message}`,
          {
            bus: e.bus,
            data: { code: e.error.code, counters: this.#link.counters().byBus[e.bus] },
          },
        );
        return;
      default:
        return;
    }
  }

  #settle(handle: RequestHandle, e: LinkEvent): void {
    const w = this.#waiters.get(handle);
    if (!w) return;
    this.#waiters.delete(handle);
    w.resolve(e);
  }

  #onUnsolicited(
    src: number,
    message: LinkEvent & { type: 'unsolicited' } extends { message: infer M } ? M : never,
    bus: string,
  ): void {
    this.#busHeard.set(bus, this.#o.runtime.nowUs());
    const via = this.#router.lookup(src)?.via ?? null;
    // When the device last booted, by its own uptime: tells one reboot from the next (time epochs).
    if (message.type === 'heartbeat')
      this.#bootedAtUs.set(src, this.#o.runtime.nowUs() - Number(message.body.uptimeMs) * 1000);
    this.#healthApply(
      this.#health.handle(
        message.type === 'heartbeat'
          ? { type: 'heartbeat', device: src, body: message.body, via }
          : { type: 'frame', device: src },
        this.#o.runtime.nowUs(),
      ),
    );
    if (this.#onTimeMessage(src, message)) return;
    if (message.type === 'update_ack') this.#updates.onAck(src, message.body);
    if (message.type === 'hello') {
      this.#onHello(src, message.body, bus, true);
      this.#updates.onHello(src, message.body);
      // A device that (re)booted uses its own heartbeat period again: negotiate ours.
      const wanted = this.#o.heartbeatPeriodMs;
      if (wanted !== undefined && message.body.heartbeatPeriodMs !== wanted) this.#identify(src);
      return;
    }
    const known = this.#known.get(src);
    if (known === undefined) {
      this.#identify(src);
      return;
    }
    this.#o.registry.markSeen(src, this.#o.runtime.nowMs());
    if (message.type === 'heartbeat' && message.body.mode !== known.mode) this.#identify(src);
  }

  /** Asks a device we heard but do not know (or whose mode changed) who it is. */
  #identify(address: number): void {
    if (this.#identifying.has(address)) return;
    this.#identifying.add(address);
    const period = this.#o.heartbeatPeriodMs;
    const body = period !== undefined ? { heartbeatPeriodMs: period } : {};
    void this.#request(address, { type: 'identify', body }).then((e) => {
      this.#identifying.delete(address);
      if (e.type === 'timeout') {
        this.#journal('device.unidentified', 'warning', `0x${hex(address)} did not answer IDENTIFY`, {
          device: address,
        });
      }
    });
  }

  #onHello(
    src: number,
    hello: Extract<Message, { type: 'hello' }>['body'],
    bus: string,
    /** An unsolicited HELLO: the device just booted. */
    booted: boolean,
  ): void {
    // Synchronously: a route change noticed right after this HELLO must be able to ask again.
    this.#identifying.delete(src);
    const route = this.#router.lookup(src);
    this.#namesCache = null;
    const result = this.#o.registry.upsertFromHello(src, hello, {
      bus: route?.bus ?? bus,
      via: route?.via ?? null,
      hops: route?.hops ?? 0,
      atMs: this.#o.runtime.nowMs(),
    });
    this.#remember(result.record);
    this.#timeApply(
      this.#time?.handle(
        {
          type: 'device',
          device: src,
          counterBits: hello.clock?.counterBits ?? 64,
          via: route?.via ?? null,
          rebooted: booted,
          asymmetryUs: this.#transports.get(route?.bus ?? bus)?.timeAsymmetryUs ?? 0,
        },
        this.#o.runtime.nowUs(),
      ),
    );
    const name = hello.name ? ` (${hello.name})` : '';
    const where = route?.via ? `via 0x${hex(route.via)} on ${route.bus}` : `on ${route?.bus ?? bus}`;
    if (result.isNew) {
      this.#journal(
        'device.new',
        'info',
        `new device 0x${hex(src)}${name} ${hello.hardwareId} fw ${hello.firmwareVersion.join('.')} ${where}`,
        { device: src, bus, data: { hardwareId: hello.hardwareId, mode: enumName(DeviceMode, hello.mode) } },
      );
    }
    for (const c of result.changes) {
      this.#journal(
        'device.changed',
        'info',
        `0x${hex(src)}${name}: ${c.field} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`,
        {
          device: src,
          bus,
          data: c,
        },
      );
    }
  }

  // ── requests ─────────────────────────────────────────────────────────────────────────────────

  /** A fire-and-forget frame (UPDATE_CHUNK): a seq, sent once, never answered. */
  #sendEvent(dst: number, message: Message, priority: 0 | 1 | 2 | 3): void {
    if (!this.#router.lookup(dst)) return;
    this.#apply(this.#link.handle({ type: 'event', dst, message, priority }, this.#o.runtime.nowUs()));
  }

  #request(dst: number, message: Message, timeoutMs?: number, maxAttempts?: number): Promise<LinkEvent> {
    const handle = ++this.#handle;
    return new Promise<LinkEvent>((resolve) => {
      this.#waiters.set(handle, { resolve });
      if (!this.#router.lookup(dst)) {
        this.#waiters.delete(handle);
        resolve({
          type: 'rejected',
          handle,
          reason: 'bad_destination',
          detail: `no route to 0x${hex(dst)}: never heard from it`,
        });
        return;
      }
      this.#apply(
        this.#link.handle(
          {
            type: 'request',
            handle,
            dst,
            message,
            ...(maxAttempts !== undefined ? { maxAttempts } : {}),
            ...(timeoutMs !== undefined
              ? { timeoutMs }
              : this.#o.requestTimeoutMs
                ? { timeoutMs: this.#o.requestTimeoutMs }
                : {}),
          },
          this.#o.runtime.nowUs(),
        ),
      );
    });
  }

  async ping(address: number, timeoutMs?: number): Promise<PingResult> {
    const e = await this.#request(
      address,
      { type: 'ping', body: { nonce: this.#handle & 0xffffffff } },
      timeoutMs,
    );
    if (e.type === 'answer') return { ok: true, rttMs: e.rttUs / 1000, attempts: e.attempts };
    return { ok: false, error: describeFailure(e) };
  }

  async request(
    address: number,
    message: { type: string; body: unknown },
    timeoutMs?: number,
  ): Promise<{ ok: boolean; answer?: { type: string; body: unknown }; error?: string }> {
    if (!(message.type in MESSAGE_EXPECTS))
      return { ok: false, error: `unknown message type "${message.type}"` };
    const e = await this.#request(address, message as Message, timeoutMs);
    if (e.type === 'answer') return { ok: true, answer: { type: e.message.type, body: e.message.body } };
    return { ok: false, error: describeFailure(e) };
  }

  // ── journal ──────────────────────────────────────────────────────────────────────────────────

  #journal(
    kind: string,
    severity: Severity,
    message: string,
    extra: { device?: number; bus?: string; data?: unknown } = {},
  ): void {
    const atMs = this.#o.runtime.nowMs();
    const id = this.#o.registry.append({ atMs, kind, severity, message, ...extra });
    const log =
      severity === 'error' ? this.#o.log.error : severity === 'warning' ? this.#o.log.warn : this.#o.log.info;
    // A line about a device names its bus too (journal entries keep only what they were given): the
    // route learned from its frames, known before the registry has the device.
    const bus =
      extra.bus ??
      (extra.device !== undefined
        ? (this.#router.lookup(extra.device)?.bus ?? this.#known.get(extra.device)?.bus)
        : undefined);
    log.call(this.#o.log, { kind, ...extra, ...(bus !== undefined ? { bus } : {}) }, message);
    const view: EventView = { id, atMs, kind, severity, message, ...extra };
    for (const s of this.#subscribers) s(view);
  }

  #rateLimitedJournal(
    key: string,
    kind: string,
    severity: Severity,
    message: string,
    extra: { bus?: string; data?: unknown },
  ): void {
    const now = this.#o.runtime.nowMs();
    const last = this.#lastJournaled.get(key);
    if (last !== undefined && now - last < JOURNAL_BAD_INPUT_EVERY_MS) return;
    this.#lastJournaled.set(key, now);
    this.#journal(kind, severity, message, extra);
  }

  #onTransportEvent(t: FrameTransport, e: TransportEvent): void {
    switch (e.kind) {
      case 'open':
        this.#busState.set(t.name, { state: 'open', detail: e.detail });
        this.#journal('bus.open', 'info', `bus ${t.name} open: ${e.detail}`, { bus: t.name });
        return;
      case 'closed':
        this.#busState.set(t.name, { state: 'closed', detail: e.detail });
        if (this.#running)
          this.#journal('bus.closed', 'warning', `bus ${t.name} closed: ${e.detail}`, { bus: t.name });
        return;
      case 'lost':
        this.#busState.set(t.name, { state: 'lost', detail: e.detail });
        this.#journal('bus.lost', 'error', `bus ${t.name} lost: ${e.detail}; retrying in ${e.retryInMs} ms`, {
          bus: t.name,
        });
        return;
      case 'bad_input':
        this.#rateLimitedJournal(
          `${t.name}:${e.code}`,
          'bus.bad_input',
          'warning',
          `bad input on ${t.name}: ${e.detail}`,
          {
            bus: t.name,
            data: { code: e.code },
          },
        );
        return;
      case 'error':
        this.#rateLimitedJournal(`${t.name}:${e.code}`, 'bus.error', 'warning', `${t.name}: ${e.detail}`, {
          bus: t.name,
          data: { code: e.code },
        });
        return;
    }
  }

  #scheduleFlush(): void {
    const every = (this.#o.flushEveryMs ?? 5000) * 1000;
    this.#flushTimer = this.#o.runtime.at(this.#o.runtime.nowUs() + every, () => {
      if (!this.#running) return;
      this.#o.registry.flush();
      this.#o.registry.pruneTelemetry(this.#o.runtime.nowMs() - (this.#o.telemetryRetainMs ?? 86_400_000));
      this.#scheduleFlush();
    });
  }

  // ── health ───────────────────────────────────────────────────────────────────────────────────

  /** Answers and timeouts tell the monitor a device is alive, or not answering (zombie evidence). */
  #healthOfRequest(e: LinkEvent & { handle: RequestHandle; dst: number }): void {
    const nowUs = this.#o.runtime.nowUs();
    const probe = this.#probes.get(e.handle);
    if (probe !== undefined) {
      this.#probes.delete(e.handle);
      const ok = e.type === 'answer';
      this.#healthApply(
        this.#health.handle(
          {
            type: 'probe_result',
            device: probe,
            ok,
            ...(ok && e.type === 'answer' ? { rttUs: e.rttUs } : {}),
          },
          nowUs,
        ),
      );
      return;
    }
    if (e.type === 'answer') {
      this.#healthApply(this.#health.handle({ type: 'frame', device: e.dst }, nowUs));
      this.#healthApply(this.#health.handle({ type: 'request_result', device: e.dst, ok: true }, nowUs));
    } else if (e.type === 'timeout') {
      this.#healthApply(this.#health.handle({ type: 'request_result', device: e.dst, ok: false }, nowUs));
    }
  }

  #healthApply(out: HealthOutput): void {
    for (const device of out.probes) this.#probe(device);
    for (const e of out.events) this.#journalHealth(e);
    this.#healthWake?.cancel();
    if (out.wakeAt === undefined || !this.#running) {
      this.#healthWake = null;
      return;
    }
    const wakeAt = out.wakeAt;
    this.#healthWake = this.#o.runtime.at(wakeAt, () =>
      this.#healthApply(this.#health.handle({ type: 'tick' }, Math.max(this.#o.runtime.nowUs(), wakeAt))),
    );
  }

  /** One quick ping: the monitor spaces its probes itself, so the link must not retry on its own. */
  #probe(device: number): void {
    if (!this.#router.lookup(device)) return;
    const handle = ++this.#handle;
    this.#probes.set(handle, device);
    this.#apply(
      this.#link.handle(
        {
          type: 'request',
          handle,
          dst: device,
          message: { type: 'ping', body: {} },
          maxAttempts: 1,
          timeoutMs: 40,
          priority: 0,
        },
        this.#o.runtime.nowUs(),
      ),
    );
  }

  #journalHealth(e: HealthEvent): void {
    const name = (a: number) => `0x${hex(a)}${this.#names.get(a) ? ` (${this.#names.get(a)})` : ''}`;
    const ms = (us: number | undefined) => (us === undefined ? '' : `${(us / 1e6).toFixed(2)} s`);
    switch (e.kind) {
      case 'state': {
        this.#updates.onHealth(e.device, e.to);
        const severity: Severity =
          e.to === 'down' || e.to === 'unreachable' || e.to === 'zombie'
            ? 'error'
            : e.to === 'suspect' || e.to === 'degraded'
              ? 'warning'
              : 'info';
        const why = [
          e.evidence.silentForUs !== undefined ? `silent for ${ms(e.evidence.silentForUs)}` : '',
          e.evidence.probe
            ? `${e.evidence.probe.attempts} probe(s) ${e.evidence.probe.ok ? 'answered' : 'unanswered'}`
            : '',
          e.evidence.reason ?? '',
        ].filter(Boolean);
        this.#journal(
          'health.state',
          severity,
          `${name(e.device)}: ${e.from} → ${e.to}${why.length ? ` (${why.join('; ')})` : ''}`,
          {
            device: e.device,
            data: { from: e.from, to: e.to, evidence: e.evidence },
          },
        );
        return;
      }
      case 'reset':
        this.#timeApply(
          this.#time?.handle(
            {
              type: 'rebooted',
              device: e.device,
              ...(this.#bootedAtUs.has(e.device) ? { bootedAtUs: this.#bootedAtUs.get(e.device)! } : {}),
            },
            this.#o.runtime.nowUs(),
          ),
        );
        this.#journal(
          'health.reset',
          'warning',
          `${name(e.device)} reset (${e.reason}), reset count ${e.resetCount}`,
          {
            device: e.device,
            data: { reason: e.reason, resetCount: e.resetCount },
          },
        );
        return;
      case 'crash_loop':
        this.#journal(
          'health.crash_loop',
          'error',
          `${name(e.device)} is in a crash loop: ${e.resets} resets in ${ms(e.windowUs)}`,
          {
            device: e.device,
            data: { resets: e.resets },
          },
        );
        return;
      case 'route_down':
        this.#journal(
          'health.route_down',
          'error',
          `gateway ${name(e.gateway)} is down: ${e.devices.map(name).join(', ') || 'no devices'} unreachable through it`,
          { device: e.gateway, data: { devices: e.devices } },
        );
        return;
      case 'bus_down':
        this.#journal(
          'health.bus_down',
          'error',
          `bus ${e.bus} went silent: ${e.devices.map(name).join(', ')} unreachable`,
          {
            bus: e.bus,
            data: { devices: e.devices },
          },
        );
        return;
    }
  }

  /**
   * A bus that carries several devices and delivers nothing for a while is one fault, not a dozen dead
   * devices. "A while" is 1.2 expected heartbeat intervals (between 1 and 2 s), checked every 100 ms:
   * every device on it has then missed a heartbeat, which a lossy link alone practically never does to
   * all of them at once, and it comes before the detector's 2.3 intervals, so a silent bus is reported
   * as the bus fault — on a point-to-point UART the gateway's death and a pulled cable look the same.
   * A bus with one device is left to the detector, which probes before it concludes.
   */
  #scheduleSilenceCheck(): void {
    this.#silenceTimer = this.#o.runtime.at(this.#o.runtime.nowUs() + 100_000, () => {
      if (!this.#running) return;
      const now = this.#o.runtime.nowUs();
      const snapshot = this.#health.snapshot();
      for (const [bus, heard] of this.#busHeard) {
        const devices = [...this.#router.all()].filter(([, r]) => r.bus === bus).map(([a]) => a);
        const interval = Math.max(
          0,
          ...snapshot.filter((d) => devices.includes(d.device)).map((d) => d.expectedIntervalUs ?? 0),
        );
        const limit = Math.min(2_000_000, Math.max(1_000_000, 1.2 * interval));
        if (now - heard > limit && devices.length > 1) {
          if (!this.#busSilent.has(bus)) {
            this.#busSilent.add(bus);
            this.#healthApply(this.#health.handle({ type: 'bus_silent', bus, devices }, now));
          }
        } else {
          this.#busSilent.delete(bus);
        }
      }
      this.#scheduleSilenceCheck();
    });
  }

  /** Device names for messages, read from the registry again only after a HELLO changed it. */
  get #names(): Map<number, string> {
    if (this.#namesCache) return this.#namesCache;
    const out = new Map<number, string>();
    for (const r of this.#o.registry.list()) if (r.name) out.set(r.address, r.name);
    this.#namesCache = out;
    return out;
  }

  #namesCache: Map<number, string> | null = null;

  health(): HealthView[] {
    const names = this.#names;
    const devices = this.#health.snapshot().map((d) => toHealthView(d, names.get(d.device), this.#o.runtime));
    return [...devices, ...this.#thirdParty.map((h) => thirdPartyView(h))];
  }

  healthOf(address: number, limit = 50): { health: HealthView; history: EventView[] } | undefined {
    const tp = this.#thirdParty.find((h) => thirdPartyAddress(h.probe.slave) === address);
    if (tp) {
      const history = this.events({ limit: 1000 })
        .filter(
          (e) =>
            e.kind.startsWith('health.') &&
            (e.data as { thirdParty?: number } | undefined)?.thirdParty === address,
        )
        .slice(0, limit);
      return { health: thirdPartyView(tp), history };
    }
    const d = this.#health.snapshot().find((x) => x.device === address);
    if (!d) return undefined;
    const history = this.events({ device: address, limit: 1000 })
      .filter((e) => e.kind.startsWith('health.'))
      .slice(0, limit);
    return { health: toHealthView(d, this.#names.get(address), this.#o.runtime), history };
  }

  // ── time ─────────────────────────────────────────────────────────────────────────────────────

  /** The transport's send stamp of a time-sync request is its t1. */
  #txStampListener(handle: RequestHandle | undefined): TxStampListener | undefined {
    const x = handle === undefined ? undefined : this.#timeExchanges.get(handle);
    if (!x || !this.#time) return undefined;
    return (txUs) =>
      this.#timeApply(
        this.#time?.handle({ type: 'sent', device: x.device, t1: x.t1, txUs }, this.#o.runtime.nowUs()),
      );
  }

  #onTimeExchangeDone(e: LinkEvent & { handle: RequestHandle }): void {
    const x = this.#timeExchanges.get(e.handle);
    this.#timeExchanges.delete(e.handle);
    if (!x || !this.#time) return;
    const now = this.#o.runtime.nowUs();
    if (e.type === 'answer' && e.message.type === 'time_sync_resp') {
      this.#timeApply(
        this.#time.handle({ type: 'answer', device: x.device, body: e.message.body, rxUs: e.rxUs }, now),
      );
    } else {
      this.#timeApply(this.#time.handle({ type: 'failed', device: x.device, t1: x.t1 }, now));
    }
  }

  /** Time follow-ups and maps, and timestamped telemetry and logs. True when the message was one. */
  #onTimeMessage(
    src: number,
    message: LinkEvent & { type: 'unsolicited' } extends { message: infer M } ? M : never,
  ): boolean {
    const now = this.#o.runtime.nowUs();
    switch (message.type) {
      case 'time_sync_followup':
        this.#timeApply(this.#time?.handle({ type: 'followup', device: src, body: message.body }, now));
        return true;
      case 'time_map':
        this.#timeApply(this.#time?.handle({ type: 'time_map', gateway: src, body: message.body }, now));
        return true;
      case 'telemetry': {
        const receivedMs = this.#o.runtime.nowMs();
        const rows = message.body.samples.map((s) => {
          const at = this.#alignedWallUs(src, s.deviceTime);
          return {
            device: src,
            channel: s.channel,
            epoch: at?.epoch ?? this.#time?.epochOf(src) ?? 0,
            deviceUs: s.deviceTime,
            hostUs: at ? at.wallUs : null,
            boundUs: at ? at.boundUs : null,
            value: s.value,
            receivedMs,
          };
        });
        this.#o.registry.appendTelemetry(rows);
        return false;
      }
      case 'log': {
        const at = this.#alignedWallUs(src, message.body.deviceTime);
        const severity: Severity =
          message.body.level >= 3
            ? 'error'
            : message.body.level === 2
              ? 'warning'
              : message.body.level === 1
                ? 'info'
                : 'debug';
        this.#journal('device.log', severity, `0x${hex(src)}: ${message.body.text}`, {
          device: src,
          data: {
            deviceTime: message.body.deviceTime,
            ...(message.body.module ? { module: message.body.module } : {}),
            ...(at ? { alignedMs: at.wallUs / 1000, boundUs: Math.round(at.boundUs) } : {}),
          },
        });
        return false;
      }
      default:
        return false;
    }
  }

  /** A device timestamp on the host's wall-clock timeline (µs since the Unix epoch), if known. */
  #alignedWallUs(
    device: number,
    rawDeviceUs: number,
  ): { wallUs: number; boundUs: number; epoch: number } | null {
    const now = this.#o.runtime.nowUs();
    const r = this.#time?.hostOf(device, rawDeviceUs, now);
    if (!r) return null;
    return { wallUs: this.#o.runtime.nowWallUs() - (now - r.hostUs), boundUs: r.boundUs, epoch: r.epoch };
  }

  #timeApply(out: TimeOutput | undefined): void {
    if (!out || !this.#time) return;
    for (const x of out.exchanges) {
      if (!this.#router.lookup(x.device)) {
        this.#time.handle({ type: 'failed', device: x.device, t1: x.t1 }, this.#o.runtime.nowUs());
        continue;
      }
      const handle = ++this.#handle;
      this.#timeExchanges.set(handle, x);
      this.#apply(
        this.#link.handle(
          {
            type: 'request',
            handle,
            dst: x.device,
            message: { type: 'time_sync_req', body: { t1: x.t1 } },
            // A repeated exchange is worth nothing: its delay is unknown. The next one comes anyway.
            maxAttempts: 1,
            timeoutMs: 1000,
            priority: 0,
          },
          this.#o.runtime.nowUs(),
        ),
      );
    }
    for (const e of out.events) this.#journalTime(e);
    this.#timeWake?.cancel();
    if (out.wakeAt === undefined || !this.#running) {
      this.#timeWake = null;
      return;
    }
    const wakeAt = out.wakeAt;
    this.#timeWake = this.#o.runtime.at(wakeAt, () =>
      this.#timeApply(this.#time?.handle({ type: 'tick' }, Math.max(this.#o.runtime.nowUs(), wakeAt))),
    );
  }

  #journalTime(e: TimeEvent): void {
    const who = `0x${hex(e.device)}${this.#names.get(e.device) ? ` (${this.#names.get(e.device)})` : ''}`;
    switch (e.kind) {
      case 'jump':
        this.#journal('time.jump', 'warning', `${who}: clock jumped by ${e.deltaUs} µs; re-synchronising`, {
          device: e.device,
          data: { deltaUs: e.deltaUs },
        });
        return;
      case 'epoch':
        this.#journal('time.epoch', 'info', `${who}: new clock epoch ${e.epoch} (${e.reason})`, {
          device: e.device,
          data: { epoch: e.epoch, reason: e.reason },
        });
        return;
      case 'synced':
        this.#journal(
          'time.synced',
          'info',
          `${who}: clock aligned ${e.method.replace(/_/g, ' ')}, bound ±${e.boundUs} µs`,
          {
            device: e.device,
            data: { boundUs: e.boundUs, method: e.method },
          },
        );
        return;
    }
  }

  /** Every device's clock mapping. */
  time(): TimeView[] {
    const names = this.#names;
    return (this.#time?.snapshot(this.#o.runtime.nowUs()) ?? []).map((v) =>
      toTimeView(v, names.get(v.device)),
    );
  }

  /** The time service itself (benchmarks compare its estimates with the simulator's true clocks). */
  get timeService(): TimeService | null {
    return this.#time;
  }

  /** Stored telemetry, newest first (or after sinceId, oldest first). */
  telemetry(query: TelemetryQuery): TelemetryView[] {
    return this.#o.registry.queryTelemetry(query).map(toTelemetryView);
  }

  traces(query: TraceQuery): TraceRecord[] {
    this.#tracing.flush(); // what has finished is listed now, not at the next poll
    return this.#o.registry.queryTraces(query);
  }

  trace(id: number): TraceRecord | undefined {
    this.#tracing.flush();
    return this.#o.registry.trace(id);
  }

  // ── updates ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Updates a device with a signed image; resolves when the update has finished (done, failed, rolled
   * back or cancelled). Throws UpdateRefused, before anything is sent, for an image that must not go.
   */
  update(address: number, image: UpdateImage, options: UpdateOptions = {}): Promise<UpdateView> {
    return this.#updates.start(address, image, options);
  }

  cancelUpdate(address: number): boolean {
    return this.#updates.cancel(address);
  }

  /** Plans an update campaign; unless `dryRun` (or the plan has problems) starts it. */
  startCampaign(request: CampaignRequest, dryRun: boolean): { id?: number; plan: PlanView[] } {
    return this.#campaigns.start(request, dryRun);
  }

  campaigns(): CampaignView[] {
    return this.#campaigns.list().map((c: CampaignRecord) => ({
      id: c.id,
      createdMs: c.createdMs,
      state: c.state,
      items: c.items.map((i) => ({
        device: i.device,
        bus: i.bus,
        step: i.step,
        state: i.state,
        detail: i.detail,
      })),
    }));
  }

  cancelCampaign(id: number): boolean {
    return this.#campaigns.cancel(id);
  }

  /** Updates under way and the last finished one per device. */
  updates(): UpdateStatusView[] {
    return this.#updates.list().map((v) => ({
      device: v.device,
      version: v.version,
      kind: v.kind,
      phase: v.phase,
      detail: v.detail,
      size: v.size,
      acked: v.acked,
      resumedFrom: v.resumedFrom,
      sentBytes: v.sentBytes,
      retransmittedBytes: v.retransmittedBytes,
      chunkSize: v.chunkSize,
      window: v.window,
      rateBps: v.rateBps,
      etaS: v.etaS,
    }));
  }

  startUpdate(
    address: number,
    r: UpdateRequest,
  ): { ok: true } | { ok: false; code: string; message: string } {
    const decoded = decodeEnvelope(r.envelope);
    const manifest = decoded.ok ? decodeManifest(decoded.value.manifest) : null;
    if (!manifest?.ok) {
      return {
        ok: false,
        code: 'bad_manifest',
        message: decoded.ok
          ? manifest?.ok === false
            ? manifest.error.message
            : 'bad manifest'
          : decoded.error.message,
      };
    }
    try {
      void this.update(
        address,
        { image: r.image, envelope: r.envelope, manifest: manifest.value },
        {
          ...(r.allowDowngrade ? { allowDowngrade: true } : {}),
          ...(r.chunkSize !== undefined ? { chunkSize: r.chunkSize } : {}),
          ...(r.trialMs !== undefined ? { trialMs: r.trialMs } : {}),
        },
      );
      return { ok: true };
    } catch (e) {
      if (e instanceof UpdateRefused) return { ok: false, code: e.code, message: e.message };
      throw e;
    }
  }

  // ── control API ──────────────────────────────────────────────────────────────────────────────

  status(): StatusView {
    const now = this.#o.runtime.nowMs();
    return {
      version: this.#o.version,
      startedAtMs: this.#startedAtMs,
      uptimeMs: now - this.#startedAtMs,
      buses: this.#buses(),
      devices: this.devices(),
    };
  }

  #buses(): BusView[] {
    const linkByBus = this.#link.counters().byBus;
    return [...this.#transports.values()].map((t) => {
      const s = this.#busState.get(t.name) ?? { state: 'unknown' };
      return {
        name: t.name,
        kind: t.kind,
        state: s.state,
        ...(s.detail ? { detail: s.detail } : {}),
        counters: { ...t.counters(), ...prefix('link_', linkByBus[t.name] ?? {}) },
      };
    });
  }

  devices(): DeviceView[] {
    this.#o.registry.flush();
    return this.#o.registry.list().map(toView);
  }

  device(address: number): DeviceView | undefined {
    this.#o.registry.flush();
    const r = this.#o.registry.get(address);
    return r ? toView(r) : undefined;
  }

  events(query: { sinceId?: number; device?: number; limit?: number }): EventView[] {
    return this.#o.registry.query(query).map((e) => ({
      id: e.id,
      atMs: e.atMs,
      kind: e.kind,
      severity: e.severity,
      message: e.message,
      ...(e.device !== null ? { device: e.device } : {}),
      ...(e.bus !== null ? { bus: e.bus } : {}),
      ...(e.data !== null && e.data !== undefined ? { data: e.data } : {}),
    }));
  }

  subscribe(listener: (e: EventView) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  /** A live pcapng capture of `buses` (all when empty) into `sink`, until the session is closed. */
  capture(buses: readonly string[], sink: CaptureSink): ReturnType<CaptureHub['open']> {
    return this.#capture.open(buses, sink);
  }

  /** Told every answered request's round trip (µs) and device; returns an unsubscribe function. */
  onAnswer(listener: (device: number, rttUs: number) => void): () => void {
    this.#answerListeners.add(listener);
    return () => this.#answerListeners.delete(listener);
  }

  /** The link layer's counters: per bus, and per destination device (requests, retries, timeouts). */
  linkCounters(): LinkCounters {
    return this.#link.counters();
  }
}

const MESSAGE_EXPECTS: Record<string, true> = {
  identify: true,
  ping: true,
  time_sync_req: true,
  update_begin: true,
  update_verify: true,
  update_activate: true,
  update_confirm: true,
  update_abort: true,
  update_status_req: true,
  reset: true,
  topology_req: true,
} satisfies Partial<Record<MessageName, true>>;

function toTimeView(v: DeviceTimeView, name: string | undefined): TimeView {
  const { device, ...rest } = v;
  return { address: device, ...(name ? { name } : {}), ...rest };
}

function toTelemetryView(r: TelemetryRecord): TelemetryView {
  return {
    id: r.id,
    device: r.device,
    channel: r.channel,
    epoch: r.epoch,
    deviceUs: r.deviceUs,
    value: r.value,
    receivedMs: r.receivedMs,
    ...(r.hostUs !== null ? { alignedUs: r.hostUs } : {}),
    ...(r.boundUs !== null ? { boundUs: Math.round(r.boundUs * 10) / 10 } : {}),
  };
}

function toView(r: DeviceRecord): DeviceView {
  return {
    address: r.address,
    ...(r.name ? { name: r.name } : {}),
    hardwareId: r.hardwareId,
    hardwareRev: r.hardwareRev,
    firmwareVersion: r.firmwareVersion,
    bootloaderVersion: r.bootloaderVersion,
    mode: enumName(DeviceMode, r.mode),
    bus: r.bus,
    via: r.via,
    hops: r.hops,
    firstSeenMs: r.firstSeenMs,
    lastSeenMs: r.lastSeenMs,
  };
}

function describeFailure(e: LinkEvent): string {
  switch (e.type) {
    case 'timeout':
      return `no answer after ${e.attempts} attempt(s)`;
    case 'error_answer':
      return `${e.codeName}${e.reporter !== undefined && e.reporter !== e.dst ? ` (reported by 0x${hex(e.reporter)})` : ''}`;
    case 'rejected':
      return e.detail;
    case 'cancelled':
      return 'cancelled: no route';
    default:
      return e.type;
  }
}

function prefix(p: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}${k}`, v]));
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

function toHealthView(
  d: ReturnType<HealthMonitor['snapshot']>[number],
  name: string | undefined,
  runtime: Runtime,
): HealthView {
  // Monitor times are runtime µs; the API speaks wall-clock ms.
  const wallMs = (us: number) => runtime.nowMs() - (runtime.nowUs() - us) / 1000;
  return {
    address: d.device,
    ...(name ? { name } : {}),
    state: d.state,
    ...(d.mode !== null ? { mode: enumName(DeviceMode, d.mode) } : {}),
    ...(d.health !== null ? { healthLevel: enumName(HealthLevel, d.health) } : {}),
    via: d.via,
    ...(d.lastHeartbeatUs !== null ? { lastHeartbeatMs: Math.round(wallMs(d.lastHeartbeatUs)) } : {}),
    ...(d.expectedIntervalUs !== null ? { expectedIntervalMs: Math.round(d.expectedIntervalUs / 1000) } : {}),
    ...(d.resetCount !== null ? { resetCount: d.resetCount } : {}),
    crashLoop: d.crashLoop,
    ...(d.lastRttUs !== null ? { lastRttMs: d.lastRttUs / 1000 } : {}),
  };
}

function thirdPartyView(h: RegisterHealth): HealthView {
  return {
    address: thirdPartyAddress(h.probe.slave),
    name: `modbus ${h.probe.bus} slave ${h.probe.slave}`,
    state: h.state,
    via: null,
    crashLoop: false,
  };
}

/** The running image's anti-rollback counter as its HELLO (stored as JSON) reports it. */
function securityCounterOf(hello: Record<string, unknown>): { securityCounter?: number } {
  const c = hello.securityCounter;
  return typeof c === 'number' ? { securityCounter: c } : {};
}
