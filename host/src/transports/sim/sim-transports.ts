import {
  CanCarriage,
  type Carriage,
  HOST_STAMP_PROFILES,
  type HostStampProfile,
  type SimBoard,
  StampJitter,
  UartCarriage,
} from '@mcubus/firmware-sim';
import { modbus } from '@mcubus/protocol';
import type { Runtime } from '../../daemon/runtime.js';
import { CaptureTap } from '../capture-tap.js';
import { DEFAULT_BULK_POLL_EVERY, ModbusTunnelMaster } from '../modbus/master-core.js';
import { captureAdus } from '../modbus/modbus-capture.js';
import { modbusTimeAsymmetryUs } from '../modbus/time-asymmetry.js';
import type { FrameTransport, TransportEvent } from '../transport.js';
import { tapCanPort, tapUartEndpoint } from './sim-capture.js';

export interface SimTransportOptions {
  /**
   * How late the host learns of a frame's arrival and how early it stamps its own frames, per bus
   * (default: exact). The time benchmarks use HOST_STAMP_PROFILES.serial / .kernelTimestamp.
   */
  readonly stamps?: Readonly<Record<string, HostStampProfile>>;
}

/** Host stamp jitter of one bus, drawn from its own PRNG stream. */
interface BusStamps {
  rx(trueNs: number): number;
  tx(trueNs: number): number;
}

function busStamps(board: SimBoard, bus: string, profile: HostStampProfile | undefined): BusStamps {
  const p = profile ?? HOST_STAMP_PROFILES.exact;
  const rx = new StampJitter(p.rx, board.sim.rng(`host-stamps-rx:${bus}`));
  const tx = new StampJitter(p.tx, board.sim.rng(`host-stamps-tx:${bus}`));
  return {
    rx: (ns) => ns / 1000 + rx.delayUs(ns),
    tx: (ns) => ns / 1000 - tx.delayUs(ns),
  };
}

/**
 * The daemon's buses bound to an in-process simulated board: the board's host-facing UART, CAN and
 * Modbus ports, with the same cores the real adapters use (COBS stream, ISO-TP, the Modbus tunnel
 * master). `runtime` must be the board's clock (simRuntime).
 */
export function simTransports(
  board: SimBoard,
  runtime: Runtime,
  /** Which board buses to bind, and the daemon's name for each (default: all, under their own names). */
  names: ReadonlyMap<string, string> = new Map([...board.hostPorts.keys()].map((k) => [k, k])),
  options: SimTransportOptions = {},
): FrameTransport[] {
  const out: FrameTransport[] = [];
  for (const [simBus, name] of names) {
    const port = board.hostPorts.get(simBus);
    if (!port) throw new Error(`the simulated board has no host port on bus "${simBus}"`);
    const stamps = busStamps(board, simBus, options.stamps?.[simBus]);
    if (port.kind === 'uart') {
      const tap = new CaptureTap();
      const endpoint = tapUartEndpoint(port.endpoint, board.sim, tap);
      const carriage = new UartCarriage(port.bus, board.sim, endpoint);
      out.push(carriageTransport(name, 'uart', carriage, stamps, tap));
    } else if (port.kind === 'can') {
      const tap = new CaptureTap();
      tapCanPort(port.port, tap);
      const carriage = new CanCarriage(port.bus, board.sim, port.port, { address: 0, fd: port.fd });
      out.push(carriageTransport(name, 'can', carriage, stamps, tap));
    } else {
      out.push(modbusSimTransport(board, port, runtime, name, stamps));
    }
  }
  return out;
}

function carriageTransport(
  name: string,
  kind: 'uart' | 'can',
  carriage: Carriage,
  stamps: BusStamps,
  tap: CaptureTap,
): FrameTransport {
  const frameListeners: ((f: Uint8Array, info: { from?: number; rxUs: number }) => void)[] = [];
  const eventListeners: ((e: TransportEvent) => void)[] = [];
  let started = false;
  carriage.onBadInput((code, detail) => {
    if (started) for (const l of eventListeners) l({ kind: 'bad_input', code, detail });
  });
  carriage.onFrame((frame, stamp) => {
    if (!started) return;
    const rxUs = stamps.rx(stamp.startNs);
    for (const l of frameListeners) l(frame, { rxUs });
  });
  return {
    name,
    kind,
    mtu: carriage.mtu,
    async start() {
      started = true;
      for (const l of eventListeners) l({ kind: 'open', detail: `simulated ${kind} ${name}` });
    },
    async stop() {
      started = false;
      for (const l of eventListeners) l({ kind: 'closed', detail: `simulated ${kind} ${name}` });
    },
    send(frame, nextHop, priority, onStarted) {
      if (!started) return;
      carriage.send({
        priority,
        nextHop,
        build: () => frame,
        ...(onStarted ? { started: (ns: number) => onStarted(stamps.tx(ns)) } : {}),
      });
    },
    onFrame: (l) => frameListeners.push(l),
    onEvent: (l) => eventListeners.push(l),
    counters: () => carriage.counters(),
    onCapture: (l) => tap.add(l),
  };
}

function modbusSimTransport(
  board: SimBoard,
  port: Extract<SimBoard['hostPorts'] extends Map<string, infer P> ? P : never, { kind: 'modbus' }>,
  runtime: Runtime,
  name: string,
  stamps: BusStamps,
): FrameTransport {
  const timing = modbus.rtuTiming(port.baud, {
    parity: port.line.format.parity,
    stopBits: port.line.format.stopBits,
  });
  const master = new ModbusTunnelMaster({
    slaves: port.slaves,
    timing,
    responseTimeoutUs: modbus.responseTimeoutUs(timing, 256),
    idlePollUs: 50_000,
    bulkPollEvery: DEFAULT_BULK_POLL_EVERY,
  });
  const addressOfSlave = new Map<number, number>();
  for (const [address, slave] of board.modbusAddressOf)
    if (port.slaves.includes(slave)) addressOfSlave.set(slave, address);
  const frameListeners: ((f: Uint8Array, info: { from?: number; rxUs: number }) => void)[] = [];
  const eventListeners: ((e: TransportEvent) => void)[] = [];
  let started = false;
  let wake: { cancel(): void } | null = null;
  let handle = 0;
  const tap = new CaptureTap();
  const reads = new Map<number, { resolve: (r: number[]) => void; reject: (e: Error) => void }>();
  const apply = (out: ReturnType<ModbusTunnelMaster['handle']>) => {
    if (!started) return;
    if (tap.active) captureAdus(tap, out, runtime.nowUs(), port.endpoint.byteTimeNs / 1000);
    for (const adu of out.send) port.endpoint.write(adu);
    for (const e of out.emit) {
      if (e.type === 'frame') {
        // The ADU adds 5 bytes (address, function, count, CRC) in front of and after the frame.
        const rxUs = stamps.rx(runtime.nowUs() * 1000 - (e.frame.length + 5) * port.endpoint.byteTimeNs);
        const from = addressOfSlave.get(e.slave);
        for (const l of frameListeners) l(e.frame, { ...(from !== undefined ? { from } : {}), rxUs });
      } else if (e.type === 'registers') {
        reads.get(e.handle)?.resolve([...e.registers]);
        reads.delete(e.handle);
      } else if (e.type === 'failed' && reads.has(e.handle)) {
        reads.get(e.handle)?.reject(new Error(e.reason));
        reads.delete(e.handle);
      } else if (e.type === 'timeout' || e.type === 'exception') {
        const detail =
          e.type === 'timeout' ? `slave ${e.slave} did not answer` : `slave ${e.slave} exception ${e.code}`;
        for (const l of eventListeners) l({ kind: 'error', code: `modbus_${e.type}`, detail });
      }
    }
    wake?.cancel();
    const wakeAt = out.wakeAt ?? 0;
    wake =
      out.wakeAt === undefined
        ? null
        : runtime.at(out.wakeAt, () =>
            apply(master.handle({ type: 'tick' }, Math.max(runtime.nowUs(), wakeAt))),
          );
  };
  port.endpoint.onReceive((bytes) => apply(master.handle({ type: 'bytes', bytes }, runtime.nowUs())));
  return {
    name,
    kind: 'modbus',
    mtu: modbus.MAX_TUNNEL_FRAME_LENGTH,
    ackBatch: DEFAULT_BULK_POLL_EVERY,
    timeAsymmetryUs: modbusTimeAsymmetryUs(timing),
    async start() {
      started = true;
      for (const l of eventListeners) l({ kind: 'open', detail: `simulated Modbus RTU ${port.bus}` });
      apply(master.handle({ type: 'tick' }, runtime.nowUs()));
    },
    async stop() {
      started = false;
      wake?.cancel();
    },
    send(frame, nextHop, priority, onStarted) {
      // The tunnel sends it at the slave's turn: later than now, never earlier.
      onStarted?.(runtime.nowUs());
      const slave = board.modbusAddressOf.get(nextHop);
      if (slave === undefined) {
        for (const l of eventListeners)
          l({ kind: 'error', code: 'no_slave', detail: `no Modbus slave for 0x${nextHop.toString(16)}` });
        return;
      }
      apply(
        master.handle(
          { type: 'send', slave, frame, handle: ++handle, bulk: priority === 3 },
          runtime.nowUs(),
        ),
      );
    },
    readRegisters(slave, fn, start, quantity) {
      return new Promise<number[]>((resolve, reject) => {
        const h = ++handle;
        reads.set(h, { resolve, reject });
        apply(master.handle({ type: 'read', slave, fn, start, quantity, handle: h }, runtime.nowUs()));
      });
    },
    onFrame: (l) => frameListeners.push(l),
    onEvent: (l) => eventListeners.push(l),
    counters: () => master.counters.snapshot(),
    onCapture: (l) => tap.add(l),
  };
}
