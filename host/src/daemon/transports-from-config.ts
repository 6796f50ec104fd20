import { HOST_STAMP_PROFILES, type SimBoard } from '@mcubus/firmware-sim';
import type { BusConfig, DaemonConfig } from '../config/types.js';
import { CanTransport } from '../transports/can/can-transport.js';
import { ModbusTransport } from '../transports/modbus/modbus-transport.js';
import { simTransports } from '../transports/sim/sim-transports.js';
import type { FrameTransport } from '../transports/transport.js';
import { UartTransport } from '../transports/uart/uart-transport.js';
import type { DaemonLogger } from './daemon.js';
import type { Runtime } from './runtime.js';

export interface TransportContext {
  readonly runtime: Runtime;
  readonly board: SimBoard | null;
  readonly log: DaemonLogger;
}

/** One transport per configured bus: simulated ones bound to the embedded board, real ones to ports. */
export function transportsFromConfig(config: DaemonConfig, ctx: TransportContext): FrameTransport[] {
  const sim = new Map<string, string>();
  const out: FrameTransport[] = [];
  for (const bus of config.buses) {
    if (bus.type === 'sim' || (bus.type === 'can' && bus.backend === 'sim')) sim.set(bus.simBus, bus.name);
    else out.push(realTransport(bus, ctx));
  }
  if (sim.size > 0) {
    if (!ctx.board) throw new Error('simulated buses are configured but there is no "simulator" section');
    // The embedded board's host stamps jitter like real ones would (serial 'data' events, SocketCAN
    // kernel timestamps), so what `mcubus time` shows is what a real board would show.
    const stamps = Object.fromEntries(
      [...ctx.board.hostPorts].map(([bus, port]) => [
        bus,
        port.kind === 'can' ? HOST_STAMP_PROFILES.kernelTimestamp : HOST_STAMP_PROFILES.serial,
      ]),
    );
    out.unshift(...simTransports(ctx.board, ctx.runtime, sim, { stamps }));
  }
  return out;
}

function realTransport(bus: Exclude<BusConfig, { type: 'sim' }>, _ctx: TransportContext): FrameTransport {
  const line = (frame: string) => ({
    dataBits: Number(frame[0]) as 7 | 8,
    parity: ({ N: 'none', E: 'even', O: 'odd' } as const)[frame[1] as 'N' | 'E' | 'O'],
    stopBits: Number(frame[2]) as 1 | 2,
  });
  switch (bus.type) {
    case 'uart':
      return new UartTransport({ name: bus.name, path: bus.port, baudRate: bus.baud, ...line(bus.frame) });
    case 'modbus': {
      const unknown = bus.devices.filter((d) => d.address === undefined);
      if (unknown.length > 0) {
        throw new Error(
          `bus ${bus.name}: give the mcubus address of every Modbus device (slave ${unknown.map((d) => d.slave).join(', ')} has none)`,
        );
      }
      const { parity, stopBits } = line(bus.frame);
      return new ModbusTransport({
        name: bus.name,
        path: bus.port,
        baudRate: bus.baud,
        parity,
        stopBits,
        devices: bus.devices.map((d) => ({ slave: d.slave, address: d.address! })),
      });
    }
    case 'can':
      if (bus.backend === 'sim')
        throw new Error(`bus ${bus.name}: a simulated CAN bus needs the "simulator" section`);
      return new CanTransport({
        name: bus.name,
        media:
          bus.backend === 'slcan'
            ? { kind: 'slcan', path: bus.port, bitrate: bus.bitrate }
            : { kind: 'socketcan', iface: bus.interface },
        isotp: { fd: bus.fd, frameSize: bus.fd ? 64 : 8 },
      });
  }
}
