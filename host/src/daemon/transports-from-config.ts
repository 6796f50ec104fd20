import type { SimBoard } from '@mcubus/firmware-sim';
import type { BusConfig, DaemonConfig } from '../config/types.js';
import { simTransports } from '../transports/sim/sim-transports.js';
import type { FrameTransport } from '../transports/transport.js';
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
    out.unshift(...simTransports(ctx.board, ctx.runtime, sim));
  }
  return out;
}

function realTransport(bus: Exclude<BusConfig, { type: 'sim' }>, _ctx: TransportContext): FrameTransport {
  throw new Error(`bus ${bus.name}: ${bus.type} ports are not wired into mcubusd yet`);
}
