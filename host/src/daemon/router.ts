import { DEFAULT_TTL } from '@mcubus/protocol';

export interface HostRoute {
  readonly bus: string;
  /** Node at the other end of the first hop: the device itself, or the gateway in front of it. */
  readonly nextHop: number;
  /** The gateway the device is reached through, null when it is directly attached. */
  readonly via: number | null;
  readonly hops: number;
  /** Configured routes are never overwritten by what traffic suggests. */
  readonly pinned: boolean;
}

export interface PinnedRoute {
  readonly address: number;
  readonly bus: string;
  readonly via?: number | null;
}

/**
 * Where each device is: learned from the frames it sends, like a switch learns MAC addresses. A frame
 * with TTL 8 (the default every sender starts with) came straight from its source; a lower TTL means
 * it crossed gateways, and the link-level sender (CAN source address, polled Modbus device) or the
 * only directly attached device of a point-to-point UART is the gateway in front of it. Routes from
 * the configuration are pinned.
 */
export class HostRouter {
  readonly #routes = new Map<number, HostRoute>();
  readonly #pointToPoint: ReadonlySet<string>;

  constructor(pinned: readonly PinnedRoute[], pointToPointBuses: Iterable<string>) {
    this.#pointToPoint = new Set(pointToPointBuses);
    for (const p of pinned) {
      const via = p.via ?? null;
      this.#routes.set(p.address, {
        bus: p.bus,
        nextHop: via ?? p.address,
        via,
        hops: via === null ? 0 : 1,
        pinned: true,
      });
    }
  }

  lookup(address: number): HostRoute | undefined {
    return this.#routes.get(address);
  }

  all(): ReadonlyMap<number, HostRoute> {
    return this.#routes;
  }

  /** Learns from a frame that checked out; returns the route when it is new or changed. */
  learn(src: number, ttl: number, bus: string, linkFrom: number | undefined): HostRoute | null {
    const current = this.#routes.get(src);
    if (current?.pinned) return null;
    // The CRC leaves TTL out (gateways change it), so a line bit error there passes every check: a TTL
    // above the one every sender starts with, or 0 (never forwarded), is such an error — learning from
    // it made a node behind a gateway look directly attached, and every other node's gateway unknown
    // (found by the soak, seed 1 on the large board).
    if (ttl > DEFAULT_TTL || ttl === 0) return null;
    const hops = Math.max(0, DEFAULT_TTL - ttl);
    let next: HostRoute;
    if (hops === 0) {
      next = { bus, nextHop: src, via: null, hops: 0, pinned: false };
    } else {
      const via = linkFrom ?? this.#onlyDirectOn(bus);
      next = { bus, nextHop: via ?? src, via: via ?? null, hops, pinned: false };
    }
    if (
      current &&
      current.bus === next.bus &&
      current.nextHop === next.nextHop &&
      current.via === next.via &&
      current.hops === next.hops
    ) {
      return null;
    }
    this.#routes.set(src, next);
    // A gateway we only learn now: complete the routes of nodes behind it that were heard before it.
    if (hops === 0 && this.#pointToPoint.has(bus)) this.#fillGateway(bus, src);
    return next;
  }

  #fillGateway(bus: string, gateway: number): void {
    for (const [address, r] of this.#routes) {
      if (r.bus === bus && r.hops > 0 && r.via === null && !r.pinned && address !== gateway) {
        this.#routes.set(address, { ...r, via: gateway, nextHop: gateway });
        this.#filled.push(address);
      }
    }
  }

  /** Devices whose route changed because their gateway became known (the caller refreshes them). */
  takeFilled(): number[] {
    return this.#filled.splice(0);
  }

  readonly #filled: number[] = [];

  /** On a point-to-point bus the one directly attached device is every other device's gateway. */
  #onlyDirectOn(bus: string): number | undefined {
    if (!this.#pointToPoint.has(bus)) return undefined;
    let found: number | undefined;
    for (const [address, r] of this.#routes) {
      if (r.bus !== bus || r.hops !== 0) continue;
      if (found !== undefined) return undefined; // two direct devices: not a point-to-point gateway
      found = address;
    }
    return found;
  }
}
