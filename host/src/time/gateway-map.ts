import type { Message } from '@mcubus/protocol';
import type { ClockEstimator } from './clock-estimator.js';
import { unwrapNear } from './counter.js';

type TimeMapBody = Extract<Message, { type: 'time_map' }>['body'];

/**
 * A node behind a gateway, timed through its gateway: the gateway exchanges time with the node over
 * the downstream bus (its stamps are exact and its bus has no host jitter) and reports the fit as
 * TIME_MAP; the host composes host → gateway (its own estimator) with gateway → node (the map). Bounds
 * add up, and the map's bound grows with the time since the gateway evaluated it.
 */
export interface GatewayMap {
  /** The TIME_MAP as received. */
  readonly body: TimeMapBody;
  /** Host time it arrived (µs). */
  readonly receivedUs: number;
}

export interface ComposeOptions {
  /** Rate uncertainty of a gateway's map, per µs of age (default 0.5 ppm). */
  readonly mapSkewUncertainty?: number;
}

/**
 * Host time (µs) and bound for a raw node counter reading, given the gateway's estimator and the
 * node's latest map. The node's counter is unwrapped near where the map says it is now.
 */
export function composeHostOf(
  gateway: ClockEstimator,
  map: GatewayMap,
  rawNodeUs: number,
  nodeBits: number,
  hostNowUs: number,
  options: ComposeOptions = {},
): { hostUs: number; boundUs: number } | null {
  if (!gateway.mapping) return null;
  const { offsetUs, skewPpb, errorBoundUs } = map.body;
  const skew = skewPpb * 1e-9;
  // The gateway's own unwrapped µs may differ from ours by whole wraps: re-base `at` into our space.
  const at = unwrapNear(map.body.at, gateway.deviceAt(map.receivedUs), gateway.counterBits);
  const gwNow = gateway.deviceAt(hostNowUs);
  const nodeNow = gwNow + offsetUs + skew * (gwNow - at);
  const node = unwrapNear(rawNodeUs, nodeNow, nodeBits);
  // node = g + offset + skew·(g − at)  ⇒  g = (node − offset + skew·at) / (1 + skew)
  const g = (node - offsetUs + skew * at) / (1 + skew);
  const host = gateway.hostOf(g);
  if (!host) return null;
  const growth = options.mapSkewUncertainty ?? 0.5e-6;
  return {
    hostUs: host.hostUs,
    boundUs: host.boundUs + errorBoundUs + growth * Math.abs(g - at),
  };
}

/** device − host offset (µs) of a node at host time t, through its gateway. */
export function composedOffsetAt(gateway: ClockEstimator, map: GatewayMap, hostUs: number): number {
  const skew = map.body.skewPpb * 1e-9;
  const at = unwrapNear(map.body.at, gateway.deviceAt(map.receivedUs), gateway.counterBits);
  const g = gateway.deviceAt(hostUs);
  return g + map.body.offsetUs + skew * (g - at) - hostUs;
}
