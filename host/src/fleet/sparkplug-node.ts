import type { Metric, Payload } from './metric.js';

/**
 * The Sparkplug B edge node state machine, without I/O: it is told what happened (about to CONNECT,
 * connected, disconnected, a new snapshot of the values, a rebirth request, stopping) and answers with
 * the messages to publish. The adapter (fleet-client.ts) does the MQTT, the timers and the reading of
 * the daemon's state. Rules kept here (Sparkplug B 3.0):
 *
 * - bdSeq (0–255) identifies an MQTT session: the NDEATH registered as the will at CONNECT and the
 *   NBIRTH after it carry the same value. It advances once per session that the broker accepted (a
 *   CONNECT the broker refused registered no will, so its number is used again).
 * - seq (0–255, wrapping) numbers every NBIRTH/NDATA/DBIRTH/DDATA/DDEATH of a session: NBIRTH is 0.
 * - Nothing is published before the NBIRTH of the session, nor while offline.
 * - DDATA and NDATA carry only the metrics whose value changed (report by exception); every metric
 *   they carry must have been declared in the last birth, so a changed set of metric names is a new
 *   birth: DDEATH + DBIRTH for a device, a full rebirth for the node.
 * - A rebirth (Node Control/Rebirth) republishes NBIRTH (same bdSeq, seq 0) and every DBIRTH.
 */
export interface Snapshot {
  readonly node: readonly Metric[];
  /** Online devices by Sparkplug device id; a device missing here is dead (DDEATH). */
  readonly devices: ReadonlyMap<string, readonly Metric[]>;
}

export interface Outgoing {
  readonly topic: string;
  readonly payload: Payload;
  readonly qos: 0 | 1;
}

export const NAMESPACE = 'spBv1.0';
export const BDSEQ = 'bdSeq';
export const REBIRTH = 'Node Control/Rebirth';

export interface SparkplugNodeOptions {
  readonly groupId: string;
  readonly edgeNodeId: string;
  /** bdSeq of the last session (persisted across restarts); the next session uses the one after. */
  readonly lastBdSeq?: number;
}

type Published = Map<string, Metric>;

export class SparkplugNode {
  readonly #group: string;
  readonly #node: string;
  #bdSeq: number;
  /** The bdSeq offered in the will of the CONNECT in flight. */
  #offered: number | null = null;
  #seq = 0;
  #online = false;
  #nodeMetrics: Published = new Map();
  #devices = new Map<string, Published>();

  constructor(o: SparkplugNodeOptions) {
    this.#group = o.groupId;
    this.#node = o.edgeNodeId;
    // No previous session: the first one is 0.
    this.#bdSeq = o.lastBdSeq ?? 255;
  }

  /** bdSeq of the current (or last) accepted session; what to persist. */
  get bdSeq(): number {
    return this.#bdSeq;
  }

  get online(): boolean {
    return this.#online;
  }

  topic(type: 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD'): string;
  topic(type: 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD', device: string): string;
  topic(type: string, device?: string): string {
    const base = `${NAMESPACE}/${this.#group}/${type}/${this.#node}`;
    return device === undefined ? base : `${base}/${device}`;
  }

  /** The topics to subscribe to before the NBIRTH: this node's commands and its devices'. */
  commandTopics(): string[] {
    return [this.topic('NCMD'), `${NAMESPACE}/${this.#group}/DCMD/${this.#node}/+`];
  }

  /** Before each CONNECT: the will (NDEATH) to register with it. */
  will(nowMs: number): Outgoing {
    this.#offered = (this.#bdSeq + 1) & 0xff;
    return this.#death(this.#offered, nowMs);
  }

  /** The broker accepted the CONNECT: the session's births. */
  connected(s: Snapshot, nowMs: number): Outgoing[] {
    if (this.#offered === null) throw new Error('connected() without will(): the session has no bdSeq');
    this.#bdSeq = this.#offered;
    this.#offered = null;
    this.#online = true;
    return this.#births(s, nowMs);
  }

  /** The connection is gone (the broker publishes the will): publish nothing until connected(). */
  disconnected(): void {
    this.#online = false;
  }

  /** Node Control/Rebirth: everything again, in the same session. */
  rebirth(s: Snapshot, nowMs: number): Outgoing[] {
    return this.#online ? this.#births(s, nowMs) : [];
  }

  /** A clean stop: the NDEATH to publish before DISCONNECT (a clean DISCONNECT drops the will). */
  stopping(nowMs: number): Outgoing | null {
    if (!this.#online) return null;
    this.#online = false;
    return this.#death(this.#bdSeq, nowMs);
  }

  /** What changed since the last message: NDATA, DDEATH, DBIRTH and DDATA as needed. */
  update(s: Snapshot, nowMs: number): Outgoing[] {
    if (!this.#online) return [];
    if (!sameNames(this.#nodeMetrics, s.node)) return this.#births(s, nowMs);
    const out: Outgoing[] = [];
    const nodeChanged = changed(this.#nodeMetrics, s.node);
    if (nodeChanged.length > 0) out.push(this.#data(this.topic('NDATA'), nodeChanged, nowMs));
    this.#nodeMetrics = toMap(s.node);
    for (const [id, published] of [...this.#devices]) {
      const now = s.devices.get(id);
      if (now !== undefined && sameNames(published, now)) continue;
      // Gone, or its metrics were redeclared: it dies, and lives again below if still there.
      out.push(this.#data(this.topic('DDEATH', id), [], nowMs));
      this.#devices.delete(id);
    }
    for (const [id, metrics] of s.devices) {
      const published = this.#devices.get(id);
      if (published === undefined) {
        out.push(this.#deviceBirth(id, metrics, nowMs));
        continue;
      }
      const diff = changed(published, metrics);
      if (diff.length > 0) out.push(this.#data(this.topic('DDATA', id), diff, nowMs));
      this.#devices.set(id, toMap(metrics));
    }
    return out;
  }

  #births(s: Snapshot, nowMs: number): Outgoing[] {
    this.#seq = 0;
    const node: Metric[] = [
      { name: BDSEQ, type: 'UInt64', value: this.#bdSeq },
      { name: REBIRTH, type: 'Boolean', value: false },
      ...s.node,
    ];
    const out = [this.#data(this.topic('NBIRTH'), node, nowMs, 0)];
    this.#nodeMetrics = toMap(s.node);
    this.#devices = new Map();
    for (const [id, metrics] of s.devices) out.push(this.#deviceBirth(id, metrics, nowMs));
    return out;
  }

  #deviceBirth(id: string, metrics: readonly Metric[], nowMs: number): Outgoing {
    this.#devices.set(id, toMap(metrics));
    return this.#data(this.topic('DBIRTH', id), metrics, nowMs);
  }

  /** A sequenced message: `seq` given (NBIRTH) or the next one. */
  #data(topic: string, metrics: readonly Metric[], nowMs: number, seq?: number): Outgoing {
    if (seq === undefined) this.#seq = (this.#seq + 1) & 0xff;
    const n = seq ?? this.#seq;
    return { topic, qos: 0, payload: { timestamp: nowMs, seq: n, metrics } };
  }

  #death(bdSeq: number, nowMs: number): Outgoing {
    // The will is QoS 1 so that a host application hears of the death even across its own reconnect.
    return {
      topic: this.topic('NDEATH'),
      qos: 1,
      payload: { timestamp: nowMs, metrics: [{ name: BDSEQ, type: 'UInt64', value: bdSeq }] },
    };
  }
}

function toMap(metrics: readonly Metric[]): Published {
  return new Map(metrics.map((m) => [m.name, m]));
}

function sameNames(published: Published, metrics: readonly Metric[]): boolean {
  return published.size === metrics.length && metrics.every((m) => published.get(m.name)?.type === m.type);
}

function changed(published: Published, metrics: readonly Metric[]): Metric[] {
  return metrics.filter((m) => !Object.is(published.get(m.name)?.value, m.value));
}
