import type { Route } from '../mcu/mcu.js';
import type { BoardSpec } from './spec.js';

export interface HostRoute {
  readonly dst: number;
  readonly bus: string;
  readonly nextHop: number;
  readonly hops: number;
}

/**
 * Derives every node's route table from the topology: a breadth-first walk from the host over shared
 * buses. A node's default route points back the way it was reached; each node on the way to a node
 * gets a route to it. Devices behind a gateway are addressed exactly like direct ones.
 */
export function deriveRoutes(spec: BoardSpec): { mcuRoutes: Map<string, Route[]>; hostRoutes: HostRoute[] } {
  const members = new Map<string, string[]>(); // bus → node names ('host' included)
  for (const bus of spec.buses) {
    members.set(bus.name, bus.kind === 'uart' ? [...bus.ends] : []);
  }
  for (const m of spec.mcus) {
    for (const p of m.ports) {
      const list = members.get(p.bus);
      if (!list) throw new Error(`MCU ${m.name} has a port on unknown bus ${p.bus}`);
      if (!list.includes(m.name)) list.push(m.name);
    }
  }
  for (const b of spec.host.buses) {
    const list = members.get(b);
    if (!list) throw new Error(`host is attached to unknown bus ${b}`);
    if (!list.includes('host')) list.push('host');
  }
  const address = (name: string) =>
    name === 'host'
      ? 0
      : (spec.mcus.find((m) => m.name === name)?.address ??
        spec.external?.find((x) => x.name === name)?.address ??
        fail(`unknown node ${name}`));

  const mcuRoutes = new Map<string, Route[]>(spec.mcus.map((m) => [m.name, []]));
  const hostRoutes: HostRoute[] = [];
  /** For each reached node: the chain of (node, bus it used to reach the next) from the host. */
  const pathTo = new Map<string, { node: string; bus: string }[]>([['host', []]]);
  const queue = ['host'];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const [bus, nodes] of members) {
      if (!nodes.includes(current)) continue;
      for (const next of nodes) {
        if (pathTo.has(next)) continue;
        const path = [...pathTo.get(current)!, { node: current, bus }];
        pathTo.set(next, path);
        queue.push(next);
        const dst = address(next);
        // Back towards the host (an external device keeps its own routes).
        mcuRoutes.get(next)?.push({ dst: 'default', port: bus, nextHop: address(current) });
        // Every node on the path learns the way to `next`.
        path.forEach((hop, i) => {
          const nextHop = i + 1 < path.length ? address(path[i + 1]!.node) : dst;
          if (hop.node === 'host') hostRoutes.push({ dst, bus: hop.bus, nextHop, hops: path.length });
          else mcuRoutes.get(hop.node)!.push({ dst, port: hop.bus, nextHop });
        });
      }
    }
  }
  for (const m of spec.mcus)
    if (!pathTo.has(m.name)) throw new Error(`MCU ${m.name} cannot be reached from the host`);
  return { mcuRoutes, hostRoutes };
}

function fail(message: string): never {
  throw new Error(message);
}
