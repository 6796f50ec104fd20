import {
  CanCarriage,
  type Carriage,
  type RxStamp,
  type SimBoard,
  type SimTime,
  scheduleWake,
  type Timer,
  UartCarriage,
} from '@mcubus/firmware-sim';
import { ModbusTunnelMaster } from '@mcubus/host';
import {
  decodeFrame,
  encodeFrame,
  type Frame,
  type FrameHeader,
  type Message,
  modbus,
  type Priority,
} from '@mcubus/protocol';

export interface HostRx {
  readonly atNs: SimTime;
  readonly stamp: RxStamp;
  readonly bus: string;
  readonly header: FrameHeader;
  readonly message: Frame['message'];
}

type Pending = { dst: number; seq: number; done: (answer: HostRx | null) => void; timer: Timer };

/**
 * A minimal host for simulator tests and benchmarks: it speaks the protocol over the board's
 * host-facing ports (UART with COBS, CAN with ISO-TP, Modbus as the polling master) and records what
 * it receives. It is not the daemon: no retries, no registry — just enough to drive a board.
 */
export class ScriptedHost {
  readonly received: HostRx[] = [];
  readonly badFrames: { bus: string; code: string }[] = [];
  readonly #uartLike = new Map<string, Carriage>();
  readonly #masters = new Map<
    string,
    { master: ModbusTunnelMaster; send: (slave: number, frame: Uint8Array) => void }
  >();
  readonly #pending: Pending[] = [];
  readonly #listeners: ((rx: HostRx) => void)[] = [];
  #seq = 0;
  #handle = 0;

  constructor(
    readonly board: SimBoard,
    opts: { modbusIdlePollMs?: number } = {},
  ) {
    const sim = board.sim;
    for (const port of board.hostPorts.values()) {
      if (port.kind === 'uart') {
        const c = new UartCarriage(port.bus, sim, port.endpoint);
        c.onFrame((bytes, stamp) => this.#receive(port.bus, bytes, stamp));
        this.#uartLike.set(port.bus, c);
      } else if (port.kind === 'can') {
        const c = new CanCarriage(port.bus, sim, port.port, { address: 0, fd: port.fd });
        c.onFrame((bytes, stamp) => this.#receive(port.bus, bytes, stamp));
        this.#uartLike.set(port.bus, c);
      } else {
        const timing = modbus.rtuTiming(port.baud, {
          parity: port.line.format.parity,
          stopBits: port.line.format.stopBits,
        });
        const master = new ModbusTunnelMaster({
          slaves: port.slaves,
          timing,
          responseTimeoutUs: modbus.responseTimeoutUs(timing, 256),
          idlePollUs: (opts.modbusIdlePollMs ?? 50) * 1000,
        });
        let wake: Timer | null = null;
        const apply = (out: ReturnType<ModbusTunnelMaster['handle']>) => {
          for (const adu of out.send) port.endpoint.write(adu);
          for (const e of out.emit) {
            if (e.type === 'frame') {
              const endNs = sim.now;
              this.#receive(port.bus, e.frame, {
                startNs: endNs - e.frame.length * port.endpoint.byteTimeNs,
                endNs,
              });
            }
          }
          if (out.wakeAt !== undefined) {
            wake?.cancel();
            wake = scheduleWake(sim, out.wakeAt, (nowUs) => apply(master.handle({ type: 'tick' }, nowUs)));
          }
        };
        port.endpoint.onReceive((bytes) => apply(master.handle({ type: 'bytes', bytes }, sim.now / 1000)));
        sim.scheduler.at(0, () => apply(master.handle({ type: 'tick' }, sim.now / 1000)));
        this.#masters.set(port.bus, {
          master,
          send: (slave, frame) =>
            apply(master.handle({ type: 'send', slave, frame, handle: ++this.#handle }, sim.now / 1000)),
        });
      }
    }
  }

  onReceive(listener: (rx: HostRx) => void): void {
    this.#listeners.push(listener);
  }

  /** Sends a message to a device through its route; returns the sequence number used. */
  send(
    dst: number,
    message: Message,
    opts: { priority?: Priority; seq?: number; ttl?: number; via?: { bus: string; nextHop: number } } = {},
  ): number {
    if (opts.seq === undefined) this.#seq = (this.#seq + 1) & 0xffff;
    const seq = opts.seq ?? this.#seq;
    const route = opts.via ?? this.board.hostRoutes.find((r) => r.dst === dst);
    if (!route) throw new Error(`no route from the host to 0x${dst.toString(16)}`);
    const priority = opts.priority ?? 2;
    const bytes = encodeFrame(
      { dst, src: 0, seq, priority, ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}) },
      message,
    );
    const carriage = this.#uartLike.get(route.bus);
    if (carriage) carriage.send({ priority, nextHop: route.nextHop, build: () => bytes });
    else {
      const slave = this.board.modbusAddressOf.get(route.nextHop);
      if (slave === undefined) throw new Error(`no Modbus address for 0x${route.nextHop.toString(16)}`);
      this.#masters.get(route.bus)!.send(slave, bytes);
    }
    return seq;
  }

  /** Sends a request; `done` gets the answer, or null after `timeoutMs` of virtual time. */
  request(
    dst: number,
    message: Message,
    done: (answer: HostRx | null) => void,
    timeoutMs = 1000,
    opts: Parameters<ScriptedHost['send']>[2] = {},
  ): void {
    const seq = this.send(dst, message, opts);
    const entry: Pending = {
      dst,
      seq,
      done,
      timer: this.board.sim.scheduler.after(timeoutMs * 1e6, () => {
        this.#pending.splice(this.#pending.indexOf(entry), 1);
        done(null);
      }),
    };
    this.#pending.push(entry);
  }

  /** Runs the simulation until the request is answered (or times out); returns the answer. */
  ask(
    dst: number,
    message: Message,
    timeoutMs = 1000,
    opts: Parameters<ScriptedHost['send']>[2] = {},
  ): HostRx | null {
    let result: HostRx | null | undefined;
    this.request(dst, message, (a) => (result = a), timeoutMs, opts);
    this.board.sim.scheduler.runUntilCondition(
      () => result !== undefined,
      this.board.sim.now + (timeoutMs + 1) * 1e6,
    );
    return result ?? null;
  }

  framesFrom(src: number, type?: string): HostRx[] {
    return this.received.filter(
      (r) => r.header.src === src && (type === undefined || r.message.type === type),
    );
  }

  #receive(bus: string, bytes: Uint8Array, stamp: RxStamp): void {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) {
      this.badFrames.push({ bus, code: decoded.error.code });
      return;
    }
    const rx: HostRx = {
      atNs: this.board.sim.now,
      stamp,
      bus,
      header: decoded.value.header,
      message: decoded.value.message,
    };
    this.received.push(rx);
    if (rx.header.response) {
      // A gateway on the path answers routing errors in the destination's place (reporter = itself).
      const fromPath = rx.message.type === 'error' && rx.message.body.reporter === rx.header.src;
      const i = this.#pending.findIndex(
        (p) => p.seq === rx.header.seq && (p.dst === rx.header.src || fromPath),
      );
      if (i >= 0) {
        const [p] = this.#pending.splice(i, 1);
        p!.timer.cancel();
        p!.done(rx);
      }
    }
    for (const l of this.#listeners) l(rx);
  }
}
