import {
  ADDRESS_BROADCAST,
  ADDRESS_HOST,
  CauseCounters,
  DeviceMode,
  decodeMessageBody,
  decodeRawFrame,
  ErrorCode,
  ErrorCounter,
  encodeFrame,
  FLAG_RETRANSMIT,
  ForwardOutcome,
  type FrameHeader,
  frameCrc,
  MESSAGES,
  type Message,
  type MessageName,
  type Priority,
  ResetReason,
  withRetransmitFlag,
  withTtl,
} from '@mcubus/protocol';
import type { Carriage, RxStamp } from '../carriage/carriage.js';
import type { Prng } from '../kernel/prng.js';
import { NS_PER_MS, type SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import { AnswerCache } from './answer-cache.js';
import { DeviceClock, type DeviceClockConfig } from './clock.js';
import { ForwardLog } from './forward-log.js';
import { type Signal, type SignalName, signals } from './signals.js';
import type { BootOutcome, DeviceStorage } from './storage.js';

export interface Route {
  /** Destination address, or 'default' for everything without a more specific route. */
  readonly dst: number | 'default';
  readonly port: string;
  /** Node at the other end of the hop (the gateway, or the destination itself). */
  readonly nextHop: number;
}

export interface TelemetryChannel {
  readonly channel: number;
  readonly signal: SignalName;
  /** Measurement noise, standard deviation in the signal's unit. */
  readonly noise?: number;
}

/** What an MCU is and how its firmware behaves: shared by scenario data (McuSpec) and the model. */
export interface McuIdentity {
  readonly name: string;
  readonly address: number;
  readonly hardwareId: string;
  readonly hardwareRev?: number;
  readonly clock?: DeviceClockConfig;
  readonly heartbeatPeriodMs?: number;
  readonly telemetry?: {
    readonly periodMs: number;
    readonly samplesPerFrame?: number;
    readonly channels: TelemetryChannel[];
  };
  /** Independent watchdog: a hung firmware is reset after this long. Absent: no watchdog. */
  readonly watchdogMs?: number;
}

export interface McuConfig extends McuIdentity {
  /** Forward frames not addressed to us (gateway role). */
  readonly gateway?: boolean;
  readonly routes: Route[];
  /** Firmware time from receiving a request to queueing its answer. */
  readonly processingNs?: SimTime;
  readonly maxFrame?: number;
}

export type PowerState = 'off' | 'booting' | 'running' | 'hung';

/**
 * A simulated MCU: power, boot, its drifting clock, its ports, and the firmware behaviour the host
 * talks to (bootloader or application). Every callback it schedules carries the power epoch it was
 * scheduled in, so a reset silently cancels all pending work, as it does on real hardware.
 */
/** A compromised gateway's hook (Mcu.compromise): what to forward instead of `bytes`, or undefined. */
export type ForwardIntercept = (
  h: FrameHeader,
  bytes: Uint8Array,
  pass: (bytes: Uint8Array) => void,
) => readonly Uint8Array[] | undefined;

export class Mcu {
  readonly clock: DeviceClock;
  readonly counters = new CauseCounters();
  readonly #ports = new Map<string, Carriage>();
  readonly #answers = new AnswerCache();
  readonly #rng: Prng;
  #epoch = 0;
  #state: PowerState = 'off';
  #boot: BootOutcome | null = null;
  #bootDeviceNs = 0;
  #seq = 0;
  #resetReason: number = ResetReason.power_on;
  #resetCount = 0;
  #extraProcessingNs = 0;
  #muted = false;
  /** Period the host negotiated with IDENTIFY (RAM: a reset returns to the configured one). */
  #negotiatedPeriodMs: number | null = null;

  #heartbeatPeriodMs(): number {
    return this.#negotiatedPeriodMs ?? this.config.heartbeatPeriodMs ?? 1000;
  }
  /** RESET with target bootloader: the next boot stays there. */
  #stayInBootloader = false;
  #pendingSamples: { channel: number; deviceTime: number; value: number }[] = [];
  /** Extension point for roles (gateway time master) that need to see answers addressed to us. */
  readonly #responseHandlers: ((header: FrameHeader, message: Message, stamp: RxStamp) => void)[] = [];
  readonly #bootHandlers: (() => void)[] = [];
  readonly #eventHandlers: ((header: FrameHeader, message: Message, stamp: RxStamp) => void)[] = [];

  constructor(
    readonly sim: Sim,
    readonly config: McuConfig,
    readonly storage: DeviceStorage | null = null,
  ) {
    this.#rng = sim.rng(`mcu:${config.name}`);
    this.clock = new DeviceClock(config.clock ?? {}, sim.rng(`clock:${config.name}`));
    // The update receiver's refusals and stalled sessions reach the host as this device's LOG lines.
    storage?.attachLog?.((level, text, module) => this.log(level, text, module));
  }

  get name(): string {
    return this.config.name;
  }

  get address(): number {
    return this.config.address;
  }

  get state(): PowerState {
    return this.#state;
  }

  get mode(): number {
    return this.#boot?.mode === 'app' ? DeviceMode.app : DeviceMode.bootloader;
  }

  get bootOutcome(): BootOutcome | null {
    return this.#boot;
  }

  attach(port: Carriage): void {
    this.#ports.set(port.name, port);
    port.onFrame((frame, stamp) => this.#guard(() => this.#onFrame(port, frame, stamp))());
  }

  port(name: string): Carriage | undefined {
    return this.#ports.get(name);
  }

  onResponse(handler: (header: FrameHeader, message: Message, stamp: RxStamp) => void): void {
    this.#responseHandlers.push(handler);
  }

  /** Events addressed to us (HELLO, HEARTBEAT, TIME_SYNC_FOLLOWUP… from downstream nodes). */
  onEvent(handler: (header: FrameHeader, message: Message, stamp: RxStamp) => void): void {
    this.#eventHandlers.push(handler);
  }

  onBoot(handler: () => void): void {
    this.#bootHandlers.push(handler);
  }

  /** Device clock reading (µs counter) now. */
  nowUs(): number {
    return this.clock.readUs(this.sim.now);
  }

  // ── power ────────────────────────────────────────────────────────────────────────────────────

  powerOn(reason: number = ResetReason.power_on): void {
    if (this.#state !== 'off') return;
    this.#epoch++;
    this.#resetReason = reason;
    this.#state = 'booting';
    if (this.clock.restartsAtPowerOn) this.clock.restart(this.sim.now);
    for (const p of this.#ports.values()) p.setPowered(true);
    this.#boot = this.storage?.powerOn({ stayInBootloader: this.#stayInBootloader }) ?? defaultBoot();
    this.#stayInBootloader = false;
    this.#negotiatedPeriodMs = null;
    this.sim.record(
      this.name,
      'boot',
      `${this.#boot.mode} fw ${this.#boot.firmwareVersion.join('.')}${this.#boot.note ? ` (${this.#boot.note})` : ''}`,
    );
    this.after(this.#boot.bootNs, () => this.#started());
  }

  powerOff(): void {
    if (this.#state === 'off') return;
    this.#epoch++;
    this.#state = 'off';
    this.storage?.powerLost();
    for (const p of this.#ports.values()) {
      p.reset();
      p.setPowered(false);
    }
    this.#answers.clear();
    this.#pendingSamples = [];
    this.sim.record(this.name, 'power_off');
  }

  /** A reset: power stays on, RAM is lost, the boot path runs again. */
  reset(reason: number): void {
    this.#resetCount++;
    this.powerOff();
    this.powerOn(reason);
  }

  /** Fault: the firmware stops (no heartbeats, no answers); the watchdog resets it if there is one. */
  hang(): void {
    if (this.#state !== 'running') return;
    this.#epoch++;
    this.#state = 'hung';
    this.sim.record(this.name, 'hang');
    const epoch = this.#epoch;
    if (this.config.watchdogMs !== undefined) {
      this.sim.scheduler.after(this.config.watchdogMs * NS_PER_MS, () => {
        if (this.#epoch === epoch) this.reset(ResetReason.watchdog);
      });
    }
  }

  /** Fault: a hard fault; the CPU resets at once. */
  crash(): void {
    if (this.#state === 'off') return;
    this.sim.record(this.name, 'crash');
    this.reset(ResetReason.fault);
  }

  /** Fault: the firmware keeps heartbeating but no longer answers requests (a zombie). */
  mute(on = true): void {
    this.#muted = on;
    this.sim.record(this.name, on ? 'muted' : 'unmuted');
  }

  /** Fault: answers take `extraNs` longer (a slow responder). */
  slowDown(extraNs: SimTime): void {
    this.#extraProcessingNs = extraNs;
  }

  // ── scheduling ───────────────────────────────────────────────────────────────────────────────

  /** Runs `fn` after `delayNs` unless the MCU was reset or powered off meanwhile. */
  after(delayNs: SimTime, fn: () => void): void {
    this.sim.scheduler.after(delayNs, this.#guard(fn));
  }

  #guard(fn: () => void): () => void {
    const epoch = this.#epoch;
    return () => {
      if (this.#epoch !== epoch || this.#state === 'off' || this.#state === 'hung') return;
      fn();
    };
  }

  /** A period in device time expressed in true ns: a fast device clock fires early. */
  #deviceMs(ms: number): SimTime {
    return (ms * NS_PER_MS) / (1 + this.clock.ratePpmAt(this.sim.now) * 1e-6);
  }

  #started(): void {
    this.#state = 'running';
    this.#bootDeviceNs = this.clock.deviceNsAt(this.sim.now);
    this.sim.record(this.name, 'running', this.#boot?.mode);
    this.send(ADDRESS_HOST, { type: 'hello', body: this.identity() });
    this.#heartbeatLoop();
    if (this.#boot?.mode === 'app' && this.config.telemetry) this.#telemetryLoop();
    for (const h of this.#bootHandlers) h();
  }

  #heartbeatLoop(): void {
    this.send(ADDRESS_HOST, { type: 'heartbeat', body: this.heartbeat() }, { priority: 0 });
    this.after(this.#deviceMs(this.#heartbeatPeriodMs()), () => this.#heartbeatLoop());
  }

  #telemetryLoop(): void {
    const t = this.config.telemetry!;
    const deviceTime = this.nowUs();
    for (const ch of t.channels) {
      const signal: Signal = signals[ch.signal];
      const noise = ch.noise ? ch.noise * this.#rng.normal() : 0;
      this.#pendingSamples.push({
        channel: ch.channel,
        deviceTime,
        value: Math.round((signal(this.sim.now) + noise) * 100) / 100,
      });
    }
    if (this.#pendingSamples.length >= (t.samplesPerFrame ?? 1) * t.channels.length) {
      this.send(
        ADDRESS_HOST,
        { type: 'telemetry', body: { samples: this.#pendingSamples } },
        { priority: 2 },
      );
      this.#pendingSamples = [];
    }
    this.after(this.#deviceMs(t.periodMs), () => this.#telemetryLoop());
  }

  // ── what the device says about itself ────────────────────────────────────────────────────────

  uptimeMs(): number {
    return Math.floor((this.clock.deviceNsAt(this.sim.now) - this.#bootDeviceNs) / NS_PER_MS);
  }

  identity(): Extract<Message, { type: 'hello' }>['body'] {
    const boot = this.#boot ?? defaultBoot();
    return {
      uid: uidOf(this.name),
      hardwareId: this.config.hardwareId,
      hardwareRev: this.config.hardwareRev ?? 1,
      firmwareVersion: boot.mode === 'app' ? boot.firmwareVersion : [0, 0, 0],
      bootloaderVersion: boot.bootloaderVersion,
      slots: boot.slots,
      capabilities: 0b1111011 | (this.config.gateway ? 0b100 : 0),
      maxFrame: this.config.maxFrame ?? 1100,
      mode: this.mode,
      protocolVersions: [1],
      name: this.name,
      clock: { counterBits: this.clock.counterBits, resolutionNs: this.clock.resolutionNs },
      heartbeatPeriodMs: this.#heartbeatPeriodMs(),
      ...(boot.securityCounter !== undefined ? { securityCounter: boot.securityCounter } : {}),
      uptimeMs: this.uptimeMs(),
    };
  }

  /** Firmware logs a line: a LOG event to the host, stamped with the device clock now. */
  log(level: number, text: string, module?: string): void {
    if (this.#state !== 'running') return;
    const body = { deviceTime: this.nowUs(), level, text, ...(module ? { module } : {}) };
    this.send(ADDRESS_HOST, { type: 'log', body }, { priority: 2 });
  }

  heartbeat(): Extract<Message, { type: 'heartbeat' }>['body'] {
    const counters = new Map<number, number>();
    const portErrors = { framing: 0, overrun: 0, isotp: 0, modbus: 0 };
    for (const p of this.#ports.values()) {
      for (const [category, n] of Object.entries(p.errorCounts()))
        portErrors[category as keyof typeof portErrors] += n ?? 0;
    }
    const add = (id: number, n: number) => n > 0 && counters.set(id, n);
    add(ErrorCounter.crc, this.counters.get('bad_crc'));
    add(ErrorCounter.framing, portErrors.framing);
    add(ErrorCounter.overrun, portErrors.overrun);
    add(ErrorCounter.isotp, portErrors.isotp);
    add(ErrorCounter.modbus, portErrors.modbus);
    add(ErrorCounter.flash, this.storage?.flashErrors() ?? 0);
    add(ErrorCounter.forward_drop, this.counters.get('forward_drop'));
    add(ErrorCounter.queue_drop, this.counters.get('too_large'));
    return {
      uptimeMs: this.uptimeMs(),
      mode: this.mode,
      health: 0,
      resetReason: this.#resetReason,
      resetCount: this.#resetCount,
      ...(counters.size > 0 ? { counters } : {}),
      periodMs: this.#heartbeatPeriodMs(),
      deviceTime: this.nowUs(),
    };
  }

  // ── sending ──────────────────────────────────────────────────────────────────────────────────

  nextSeq(): number {
    this.#seq = (this.#seq + 1) & 0xffff;
    return this.#seq;
  }

  /** Sends a message we originate (or answer). Returns false when there is no route or it is too large. */
  send(
    dst: number,
    message: Message | ((startNs: SimTime | undefined) => Message),
    opts: {
      seq?: number;
      response?: boolean;
      priority?: Priority;
      started?: (startNs: SimTime) => void;
      record?: Uint8Array[];
      /** See OutgoingFrame.supersedes. */
      supersedes?: string;
    } = {},
  ): boolean {
    const route = this.#route(dst);
    if (!route) {
      this.counters.add('no_route');
      return false;
    }
    const seq = opts.seq ?? this.nextSeq();
    const priority = opts.priority ?? 2;
    const header = { dst, src: this.address, seq, response: opts.response ?? false, priority };
    const build = (startNs: SimTime | undefined) => {
      const m = typeof message === 'function' ? message(startNs) : message;
      const bytes = encodeFrame(header, m);
      opts.record?.push(bytes);
      return bytes;
    };
    route.carriage.send({
      priority,
      nextHop: route.nextHop,
      build,
      ...(opts.started ? { started: opts.started } : {}),
      ...(opts.supersedes !== undefined ? { supersedes: opts.supersedes } : {}),
    });
    return true;
  }

  #route(dst: number): { carriage: Carriage; nextHop: number } | null {
    const routes = this.config.routes;
    const r = routes.find((x) => x.dst === dst) ?? routes.find((x) => x.dst === 'default');
    const carriage = r ? this.#ports.get(r.port) : undefined;
    return r && carriage ? { carriage, nextHop: r.nextHop } : null;
  }

  // ── receiving ────────────────────────────────────────────────────────────────────────────────

  #onFrame(port: Carriage, bytes: Uint8Array, stamp: RxStamp): void {
    const raw = decodeRawFrame(bytes, this.config.maxFrame ?? 4096);
    if (!raw.ok) {
      this.counters.add(raw.error.code);
      this.sim.record(this.name, 'rx_bad', `${port.name} ${raw.error.code}`);
      return;
    }
    const h = raw.value.header;
    if (h.dst !== this.address && h.dst !== ADDRESS_BROADCAST) {
      if (this.config.gateway) this.#forward(port, bytes, h);
      else this.counters.add('not_for_us'); // e.g. a broadcast-capable bus carrying another node's frame
      return;
    }
    if (h.dst === ADDRESS_BROADCAST && this.config.gateway) this.#forward(port, bytes, h);
    for (const l of this.#receivedListeners) l(h);
    const delay = (this.config.processingNs ?? 50_000) + this.#extraProcessingNs;
    // A CPU stalled by a flash erase cannot run the handler before the erase ends.
    const stall = Math.max(0, (this.storage?.busyUntil() ?? 0) - this.sim.now);
    this.after(delay + stall, () => this.#dispatch(h, raw.value.body, stamp, bytes));
  }

  #dispatch(h: FrameHeader, body: Uint8Array, stamp: RxStamp, raw: Uint8Array): void {
    const decoded = decodeMessageBody(h.type, body);
    const unicastRequest = !h.response && h.dst === this.address;
    if (!decoded.ok) {
      this.counters.add(decoded.error.code);
      if (unicastRequest) this.#error(h, ErrorCode.bad_request, decoded.error.message);
      return;
    }
    const message = decoded.value;
    if (message.type === 'unknown') {
      this.counters.add('unknown_type');
      if (unicastRequest)
        this.#error(h, ErrorCode.unknown_type, `type 0x${h.type.toString(16)} is not known`);
      return;
    }
    if (h.response) {
      for (const handler of this.#responseHandlers) handler(h, message, stamp);
      return;
    }
    // UPDATE_CHUNK is not answered one by one, but a bad one is answered with ERROR: it takes the
    // request path (docs/protocol.md §5 "Update transfer").
    if (MESSAGES[message.type as MessageName].expects.length === 0 && message.type !== 'update_chunk') {
      for (const handler of this.#eventHandlers) handler(h, message, stamp);
      return; // an event: nothing to answer
    }
    if (this.#muted) {
      this.counters.add('muted_request');
      return;
    }
    if (h.dst === ADDRESS_BROADCAST) {
      this.#execute(h, message, stamp, []);
      return;
    }
    // Replay only for the same request (same CRC): a requester that restarted and reuses a sequence
    // number for a new request must get a fresh answer, not a stale one.
    const crc = crcOf(raw);
    const cached = this.#answers.get(h.src, h.seq, crc);
    if (cached) {
      this.counters.add('duplicate_request');
      for (const bytes of cached) this.#resendRaw(h.src, bytes);
      return;
    }
    this.#execute(h, message, stamp, this.#answers.open(h.src, h.seq, crc));
  }

  #resendRaw(dst: number, bytes: Uint8Array): void {
    const route = this.#route(dst);
    // Marked as a copy (spec §5): the requester learns that its earlier request did arrive.
    const again = withRetransmitFlag(bytes);
    route?.carriage.send({ priority: 1, nextHop: route.nextHop, build: () => again });
  }

  #reply(h: FrameHeader, record: Uint8Array[]) {
    return (
      m: Message | ((startNs: SimTime | undefined) => Message),
      started?: (startNs: SimTime) => void,
    ) => {
      if (h.dst === ADDRESS_BROADCAST) return; // broadcasts are never answered
      this.send(h.src, m, {
        seq: h.seq,
        response: true,
        priority: h.priority,
        record,
        ...(started ? { started } : {}),
      });
    };
  }

  #error(h: FrameHeader, code: number, text: string): void {
    this.send(
      h.src,
      { type: 'error', body: { code, message: text, requestType: h.type } },
      { seq: h.seq, response: true },
    );
  }

  #execute(h: FrameHeader, message: Message, stamp: RxStamp, record: Uint8Array[]): void {
    const reply = this.#reply(h, record);
    switch (message.type) {
      case 'identify': {
        const asked = message.body.heartbeatPeriodMs;
        // The firmware supports 50 ms … 60 s; it adopts the nearest period it can.
        if (asked !== undefined) this.#negotiatedPeriodMs = Math.min(60_000, Math.max(50, asked));
        reply({ type: 'hello', body: this.identity() });
        return;
      }
      case 'ping':
        reply({ type: 'pong', body: message.body.nonce !== undefined ? { nonce: message.body.nonce } : {} });
        return;
      case 'time_sync_req':
        this.#answerTimeSync(h, message.body.t1, stamp, reply);
        return;
      case 'trace_req': {
        const route = this.#route(h.src);
        const maxFrame = Math.min(this.config.maxFrame ?? 1100, route?.carriage.mtu ?? 1100);
        const names = [...this.#ports.values()].map((p) => p.name);
        reply({
          type: 'trace_records',
          body: this.forwardLog.fetch(message.body, maxFrame, names),
        });
        return;
      }
      case 'reset': {
        reply({ type: 'ok', body: {} });
        const target = message.body.target ?? 0;
        this.after((message.body.delayMs ?? 10) * NS_PER_MS, () => {
          this.sim.record(this.name, 'reset_requested', `target ${target}`);
          this.#stayInBootloader = target === 1;
          this.reset(ResetReason.software);
        });
        return;
      }
      case 'update_begin':
      case 'update_chunk':
      case 'update_verify':
      case 'update_activate':
      case 'update_confirm':
      case 'update_abort':
      case 'update_status_req':
        if (!this.storage) {
          reply({ type: 'error', body: { code: ErrorCode.not_supported, requestType: h.type } });
          return;
        }
        this.storage.handleUpdate(
          message,
          (m) => {
            reply(m);
            // ACTIVATE answered OK: reset into the new image once the answer has left (a reset before
            // would tear it, and the host would redo the step).
            if (message.type === 'update_activate' && m.type === 'ok') {
              this.after(20 * NS_PER_MS, () => this.reset(ResetReason.update));
            }
          },
          // Acks are cumulative: where they queue (Modbus, until the next poll) the newest replaces
          // an older one still waiting, so a poll brings the news, not a backlog.
          (m) =>
            this.send(h.src, m, {
              priority: 3,
              ...(m.type === 'update_ack' ? { supersedes: `update_ack:${m.body.session}` } : {}),
            }),
        );
        return;
      default:
        for (const handler of this.#requestHandlers) if (handler(h, message, stamp, reply)) return;
        reply({ type: 'error', body: { code: ErrorCode.not_supported, requestType: h.type } });
    }
  }

  readonly #requestHandlers: ((
    h: FrameHeader,
    message: Message,
    stamp: RxStamp,
    reply: (m: Message) => void,
  ) => boolean)[] = [];

  /** Roles add request types (a gateway answers TOPOLOGY_REQ). Return true when handled. */
  onRequest(
    handler: (h: FrameHeader, message: Message, stamp: RxStamp, reply: (m: Message) => void) => boolean,
  ): void {
    this.#requestHandlers.push(handler);
  }

  /**
   * All four stamps of the exchange are taken at the start of a frame on the wire (docs/protocol.md
   * §5), so the request's and the answer's transmission times cancel out whatever their lengths. t2
   * is the device clock when the request started arriving. t3 goes into the answer when the port knows
   * when the answer will start (UART, Modbus: one-step); otherwise (CAN) it follows in
   * TIME_SYNC_FOLLOWUP once the answer has started (two-step).
   */
  #answerTimeSync(
    h: FrameHeader,
    t1: number,
    stamp: RxStamp,
    reply: (m: Message | ((startNs: SimTime | undefined) => Message), started?: (s: SimTime) => void) => void,
  ): void {
    const t2 = this.clock.readUs(stamp.startNs);
    let oneStep = false;
    reply(
      (startNs) => {
        if (startNs === undefined) return { type: 'time_sync_resp', body: { t1, t2 } };
        oneStep = true;
        return { type: 'time_sync_resp', body: { t1, t2, t3: this.clock.readUs(startNs) } };
      },
      (startNs) => {
        if (oneStep) return;
        this.send(
          h.src,
          { type: 'time_sync_followup', body: { t1, t3: this.clock.readUs(startNs) } },
          { priority: 0 },
        );
      },
    );
  }

  // ── gateway forwarding (docs/protocol.md §9) ─────────────────────────────────────────────────

  /**
   * Every frame that reached this node for itself (after its checks, before it is handled): what a
   * test compares with what the host believes arrived.
   */
  onReceived(listener: (header: FrameHeader) => void): void {
    this.#receivedListeners.push(listener);
  }

  readonly #receivedListeners: ((header: FrameHeader) => void)[] = [];

  /** Gateways watch what they forward (to learn who is alive behind them) without changing it. */
  onForward(handler: (header: FrameHeader, bytes: Uint8Array) => void): void {
    this.#forwardHandlers.push(handler);
  }

  readonly #forwardHandlers: ((header: FrameHeader, bytes: Uint8Array) => void)[] = [];
  /** What this node did with each frame it forwarded, for the host's tracing (TRACE_REQ). */
  readonly forwardLog = new ForwardLog();

  #logForward(
    h: FrameHeader,
    bytes: Uint8Array,
    from: Carriage,
    to: Carriage | null,
    outcome: number,
  ): ((atUs: number) => void) | null {
    const ports = [...this.#ports.values()];
    return this.forwardLog.record(
      {
        at: this.clock.readUs(this.sim.now),
        src: h.src,
        dst: h.dst,
        seq: h.seq,
        type: h.type,
        flags: bytes[1]!,
        inPort: ports.indexOf(from),
        ...(to ? { outPort: ports.indexOf(to) } : {}),
        outcome,
      },
      h.priority,
    );
  }

  /**
   * Makes this gateway a compromised one, for the security drills (test/drills): every frame it is
   * about to forward goes through `intercept` first, which forwards it unchanged (undefined) or returns
   * what to forward instead — nothing, other bytes, more frames — and may `pass` frames later (a
   * gateway that drips or withholds traffic). null makes the gateway honest again.
   */
  compromise(intercept: ForwardIntercept | null): void {
    this.#intercept = intercept;
  }

  #intercept: ForwardIntercept | null = null;

  #forward(from: Carriage, bytes: Uint8Array, h: FrameHeader): void {
    const intercept = this.#intercept;
    if (intercept) {
      const pass = (b: Uint8Array) => {
        const d = decodeRawFrame(b);
        if (d.ok) this.#forwardHonestly(from, b, d.value.header);
      };
      const instead = intercept(h, bytes, pass);
      if (instead) {
        for (const b of instead) pass(b);
        return;
      }
    }
    this.#forwardHonestly(from, bytes, h);
  }

  #forwardHonestly(from: Carriage, bytes: Uint8Array, h: FrameHeader): void {
    for (const handler of this.#forwardHandlers) handler(h, bytes);
    const isRequest = !h.response && h.dst !== ADDRESS_BROADCAST;
    if (h.ttl <= 1) {
      this.#logForward(h, bytes, from, null, ForwardOutcome.ttl_expired);
      this.counters.add('forward_drop');
      this.sim.record(this.name, 'forward_drop', `ttl_expired ${h.src}→${h.dst} seq ${h.seq}`);
      if (isRequest) this.#routingError(h, ErrorCode.ttl_expired, 'TTL expired');
      return;
    }
    const out = withTtl(bytes, h.ttl - 1);
    if (h.dst === ADDRESS_BROADCAST) {
      for (const p of this.#ports.values()) {
        if (p === from) continue;
        if (p.kind === 'can' && out.length > 7) {
          // ISO-TP broadcasts only carry single frames, and no mcubus frame is that short: fan out
          // one physical transfer per node known on that bus (docs/protocol.md §9).
          const hops = new Set(
            this.config.routes.filter((r) => r.port === p.name && r.dst !== 'default').map((r) => r.nextHop),
          );
          for (const nextHop of hops) p.send({ priority: h.priority, nextHop, build: () => out });
        } else {
          p.send({ priority: h.priority, nextHop: ADDRESS_BROADCAST, build: () => out });
        }
      }
      return;
    }
    const route = this.#route(h.dst);
    if (!route || route.carriage === from) {
      this.#logForward(h, bytes, from, null, ForwardOutcome.no_route);
      this.counters.add('forward_drop');
      this.sim.record(this.name, 'forward_drop', `no_route ${h.src}→${h.dst} seq ${h.seq}`);
      if (isRequest) this.#routingError(h, ErrorCode.no_route, `no route to 0x${h.dst.toString(16)}`);
      return;
    }
    if (out.length > route.carriage.mtu) {
      this.#logForward(h, bytes, from, route.carriage, ForwardOutcome.too_large);
      this.counters.add('too_large');
      if (isRequest)
        this.#routingError(h, ErrorCode.too_large, `frame of ${out.length} bytes`, route.carriage.mtu);
      return;
    }
    this.counters.add('forwarded');
    const onWire = this.#logForward(h, bytes, from, route.carriage, ForwardOutcome.forwarded);
    route.carriage.send({
      priority: h.priority,
      nextHop: route.nextHop,
      build: () => out,
      ...(onWire ? { started: (ns: SimTime) => onWire(this.clock.readUs(ns)) } : {}),
    });
  }

  #routingError(h: FrameHeader, code: number, text: string, detail?: number): void {
    this.send(
      h.src,
      {
        type: 'error',
        body: {
          code,
          message: text,
          requestType: h.type,
          reporter: this.address,
          ...(detail !== undefined ? { detail } : {}),
        },
      },
      { seq: h.seq, response: true },
    );
  }
}

/**
 * A request's identity for the answer cache: its CRC as first sent. A retransmission carries the
 * RETRANSMIT flag, which the CRC covers, so the CRC is taken with that flag clear (spec §5).
 */
function crcOf(frame: Uint8Array): number {
  if (frame.length < 12) return 0;
  if ((frame[1]! & FLAG_RETRANSMIT) === 0) {
    const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
    return v.getUint32(frame.length - 4, true);
  }
  const original = frame.slice();
  original[1] = original[1]! & ~FLAG_RETRANSMIT;
  return frameCrc(original, original.length - 4);
}

function defaultBoot(): BootOutcome {
  return {
    mode: 'app',
    firmwareVersion: [1, 0, 0],
    bootloaderVersion: [1, 0, 0],
    testBoot: false,
    bootNs: 5 * NS_PER_MS,
    slots: [],
  };
}

function uidOf(name: string): Uint8Array {
  const out = new Uint8Array(12);
  for (let i = 0; i < name.length; i++) out[i % 12] = (out[i % 12]! * 31 + name.charCodeAt(i)) & 0xff;
  return out;
}
