import { hostname } from 'node:os';
import type { Path, Reader } from './reader.js';

/** `fleet`: Sparkplug B telemetry and commands over MQTT (docs/fleet.md). Absent: off. */
export interface FleetConfig {
  /** mqtt://host[:port] or mqtts://host[:port] (TLS). */
  readonly broker: string;
  /** Sparkplug group id: the second topic level, shared by the boards of one site or line. */
  readonly groupId: string;
  /** Sparkplug edge node id: this board; unique within the group. */
  readonly edgeNodeId: string;
  readonly username?: string;
  readonly password?: string;
  /** PEM file paths; only with an mqtts:// broker. */
  readonly tls?: FleetTlsConfig;
  /** How often changed values are looked for and published (DDATA/NDATA). */
  readonly publishEveryMs: number;
}

export interface FleetTlsConfig {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
}

export const FLEET_DEFAULTS = { groupId: 'mcubus', publishEveryMs: 1000 } as const;

/**
 * Sparkplug ids are topic levels: '/' would add a level and '+', '#' are MQTT wildcards, so a
 * subscriber could never address this node exactly.
 */
const SPARKPLUG_ID = /^[^/+#\s]+$/;

/** The host name as an edge node id (dots are legal, the rest of a host name too). */
export function defaultEdgeNodeId(): string {
  return hostname().replace(/[/+#\s]/g, '-') || 'mcubus';
}

export function readFleet(r: Reader, value: unknown, path: Path): FleetConfig | undefined {
  const m = r.map(value, path, [
    'broker',
    'groupId',
    'edgeNodeId',
    'username',
    'password',
    'tls',
    'publishEveryMs',
  ]);
  if (m === undefined) return undefined;
  const broker = r.need(m, 'broker', path, (v, p) =>
    r.pattern(v, p, /^mqtts?:\/\/[^/\s]+\/?$/, 'mqtt://host[:port] or mqtts://host[:port]'),
  );
  const id = (v: unknown, p: Path) =>
    r.pattern(v, p, SPARKPLUG_ID, "an id without '/', '+', '#' or spaces (a single topic level)");
  const groupId = r.or(m, 'groupId', path, id, FLEET_DEFAULTS.groupId);
  const edgeNodeId = r.or(m, 'edgeNodeId', path, id, defaultEdgeNodeId());
  const username = r.maybe(m, 'username', path, (v, p) => r.string(v, p));
  const password = r.maybe(m, 'password', path, (v, p) => r.string(v, p));
  if (password !== undefined && username === undefined) {
    r.report('conflict', [...path, 'password'], 'a password needs a username');
  }
  const tls = r.maybe(m, 'tls', path, (v, p) => {
    const t = r.map(v, p, ['ca', 'cert', 'key']);
    if (t === undefined) return undefined;
    const ca = r.maybe(t, 'ca', p, (x, q) => r.string(x, q));
    const cert = r.maybe(t, 'cert', p, (x, q) => r.string(x, q));
    const key = r.maybe(t, 'key', p, (x, q) => r.string(x, q));
    // A client certificate is useless without its key, and the reverse.
    if ((cert === undefined) !== (key === undefined)) {
      r.report('conflict', [...p, cert === undefined ? 'cert' : 'key'], 'cert and key go together');
    }
    return {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    };
  });
  if (tls !== undefined && broker !== undefined && !broker.startsWith('mqtts://')) {
    r.report('conflict', [...path, 'tls'], 'tls settings need an mqtts:// broker');
  }
  const publishEveryMs = r.or(
    m,
    'publishEveryMs',
    path,
    (v, p) => r.int(v, p, { min: 100, max: 3_600_000 }),
    FLEET_DEFAULTS.publishEveryMs,
  );
  if (broker === undefined) return undefined;
  return {
    broker: broker.replace(/\/$/, ''),
    groupId,
    edgeNodeId,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
    publishEveryMs,
  };
}
