import type { DaemonConfig } from '../config/types.js';
import type { PinnedRoute } from './router.js';

/** Routes the configuration states: a device on a bus, or behind a gateway (then on the gateway's bus). */
export function pinnedRoutes(config: DaemonConfig): PinnedRoute[] {
  const out: PinnedRoute[] = [];
  for (const d of config.devices) {
    if (d.bus) out.push({ address: d.address, bus: d.bus, via: null });
    else if (d.via !== undefined) {
      const gateway = config.devices.find((g) => g.address === d.via);
      if (gateway?.bus) out.push({ address: d.address, bus: gateway.bus, via: d.via });
    }
  }
  return out;
}
