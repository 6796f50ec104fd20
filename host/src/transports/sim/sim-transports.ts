import { CanCarriage, type Carriage, type SimBoard, UartCarriage } from '@mcubus/firmware-sim';
import { modbus } from '@mcubus/protocol';
import type { Runtime } from '../../daemon/runtime.js';
import { ModbusTunnelMaster } from '../modbus/master-core.js';
import type { FrameTransport, TransportEvent } from '../transport.js';

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
): FrameTransport[] {
  const out: FrameTransport[] = [];
  for (const [simBus, name] of names) {
    const port = board.hostPorts.get(simBus);
    if (!port) throw new Error(`the simulated board has no host port on bus "${simBus}"`);
    if (port.kind === 'uart') {
      out.push(carriageTransport(name, 'uart', new UartCarriage(port.bus, board.sim, port.endpoint)));
    } else if (port.kind === 'can') {
      const carriage = new CanCarriage(port.bus, board.sim, port.port, { address: 0, fd: port.fd });
      out.push(carriageTransport(name, 'can', carriage));
    } else {
      out.push(modbusSimTransport(board, port, runtime, name));
    }
  }
  return out;
}

function carriageTransport(name: string, kind: 'uart' | 'can', carriage: Carriage): FrameTransport {
  const frameListeners: ((f: Uint8Array, info: { from?: number; rxUs: number }) => void)[] = [];
  const eventListeners: ((e: TransportEvent) => void)[] = [];
  let started = false;
  carriage.onBadInput((code, detail) => {
    if (started) for (const l of eventListeners) l({ kind: 'bad_input', code, detail });
  });
  carriage.onFrame((frame, stamp) => {
    if (!started) return;
    for (const l of frameListeners) l(frame, { rxUs: stamp.startNs / 1000 });
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
    send(frame, nextHop, priority) {
      if (started) carriage.send({ priority, nextHop, build: () => frame });
    },
    onFrame: (l) => frameListeners.push(l),
    onEvent: (l) => eventListeners.push(l),
    counters: () => carriage.counters(),
  };
}

function modbusSimTransport(
  board: SimBoard,
  port: Extract<SimBoard['hostPorts'] extends Map<string, infer P> ? P : never, { kind: 'modbus' }>,
  runtime: Runtime,
  name: string,
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
  });
  const addressOfSlave = new Map<number, number>();
  for (const [address, slave] of board.modbusAddressOf)
    if (port.slaves.includes(slave)) addressOfSlave.set(slave, address);
  const frameListeners: ((f: Uint8Array, info: { from?: number; rxUs: number }) => void)[] = [];
  const eventListeners: ((e: TransportEvent) => void)[] = [];
  let started = false;
  let wake: { cancel(): void } | null = null;
  let handle = 0;
  const reads = new Map<number, { resolve: (r: number[]) => void; reject: (e: Error) => void }>();
  const apply = (out: ReturnType<ModbusTunnelMaster['handle']>) => {
    if (!started) return;
    for (const adu of out.send) port.endpoint.write(adu);
    for (const e of out.emit) {
      if (e.type === 'frame') {
        // The ADU adds 5 bytes (address, function, count, CRC) in front of and after the frame.
        const rxUs = runtime.nowUs() - ((e.frame.length + 5) * port.endpoint.byteTimeNs) / 1000;
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
    async start() {
      started = true;
      for (const l of eventListeners) l({ kind: 'open', detail: `simulated Modbus RTU ${port.bus}` });
      apply(master.handle({ type: 'tick' }, runtime.nowUs()));
    },
    async stop() {
      started = false;
      wake?.cancel();
    },
    send(frame, nextHop) {
      const slave = board.modbusAddressOf.get(nextHop);
      if (slave === undefined) {
        for (const l of eventListeners)
          l({ kind: 'error', code: 'no_slave', detail: `no Modbus slave for 0x${nextHop.toString(16)}` });
        return;
      }
      apply(master.handle({ type: 'send', slave, frame, handle: ++handle }, runtime.nowUs()));
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
  };
}
