import type { Message } from '@mcubus/protocol';
import type { DaemonLogger } from '../daemon/daemon.js';
import type { Runtime } from '../daemon/runtime.js';
import type { LinkEvent, OutgoingFrame } from '../link/core.js';
import type { Registry } from '../registry/registry.js';
import { type GatewayQuery, Tracer } from './tracer.js';

export interface TracingDeps {
  readonly runtime: Runtime;
  readonly registry: Registry;
  readonly log: DaemonLogger;
  /** Sends a request through the daemon's link layer (TRACE_REQ to gateways). */
  request(dst: number, message: Message, timeoutMs: number, maxAttempts: number): Promise<LinkEvent>;
  /** A gateway's clock reading on the host's monotonic timeline, when the time service knows it. */
  toHostUs(gateway: number, deviceUs: number): number | null;
  /**
   * How often the traces that need a gateway's word are gathered into questions (ms). Default 250.
   * Only retried and failed requests through a gateway are asked about.
   */
  readonly queryEveryMs?: number;
  /** Traces older than this are pruned (ms). Default 24 h. */
  readonly retainMs?: number;
}

/**
 * Binds the sans-IO Tracer to the daemon: asks gateways (TRACE_REQ with `match`) about the requests
 * through them that were retried or failed, writes finished traces to SQLite about once a second,
 * and logs each failure with its trace id, so that a log line leads to `mcubus trace ID`.
 */
export class DaemonTracing {
  readonly tracer = new Tracer();
  /** Gateways a TRACE_REQ is out to: one question at a time each. */
  readonly #asking = new Set<number>();
  #lastFlushMs = 0;
  #timer: { cancel(): void } | null = null;
  #running = false;
  #lastPruneMs = 0;

  constructor(readonly deps: TracingDeps) {}

  start(): void {
    this.#running = true;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    this.#timer?.cancel();
    this.flush();
  }

  sent(f: OutgoingFrame, route: { bus: string; via: number | null }): void {
    const gateway = route.via !== null && route.via !== f.dst ? route.via : null;
    this.tracer.sent(f, { bus: route.bus, gateway }, this.deps.runtime.nowUs(), this.deps.runtime.nowMs());
  }

  linkEvent(e: LinkEvent): void {
    this.tracer.linkEvent(e, this.deps.runtime.nowUs(), this.deps.runtime.nowMs());
  }

  /** Stores what is finished; returns the ids given. */
  flush(): number[] {
    this.#lastFlushMs = this.deps.runtime.nowMs();
    const drafts = this.tracer.tick(this.deps.runtime.nowUs());
    if (drafts.length === 0) return [];
    const ids = this.deps.registry.appendTraces(drafts);
    drafts.forEach((t, i) => {
      if (t.outcome === 'timeout' || t.outcome === 'error')
        this.deps.log.warn(
          { trace: ids[i], device: t.dst, bus: t.bus, hop: t.hop, type: t.type, attempts: t.attempts },
          `${t.type} to 0x${t.dst.toString(16)} failed: ${t.cause ?? t.outcome}`,
        );
    });
    const nowMs = this.deps.runtime.nowMs();
    if (nowMs - this.#lastPruneMs > 60_000) {
      this.#lastPruneMs = nowMs;
      this.deps.registry.pruneTraces(nowMs - (this.deps.retainMs ?? 86_400_000));
    }
    return ids;
  }

  #schedule(): void {
    const every = (this.deps.queryEveryMs ?? 250) * 1000;
    this.#timer = this.deps.runtime.at(this.deps.runtime.nowUs() + every, () => {
      if (!this.#running) return;
      for (const q of this.tracer.queries()) {
        if (this.#asking.has(q.gateway)) continue;
        this.#asking.add(q.gateway);
        void this.#ask(q, 0).finally(() => this.#asking.delete(q.gateway));
      }
      if (this.deps.runtime.nowMs() - this.#lastFlushMs >= 1000) this.flush();
      this.#schedule();
    });
  }

  /** One TRACE_REQ about the traces in `q`; asks again from `next` while the answer was full. */
  async #ask(q: GatewayQuery, round: number): Promise<void> {
    const sentUs = this.deps.runtime.nowUs();
    const e = await this.deps.request(
      q.gateway,
      { type: 'trace_req', body: { since: q.since, match: q.match } },
      500,
      2,
    );
    if (!this.#running || e.type !== 'answer' || e.message.type !== 'trace_records') return;
    const next = this.tracer.gatewayRecords(q, e.message.body, sentUs, this.deps.runtime.nowUs(), (at) =>
      this.deps.toHostUs(q.gateway, at),
    );
    if (next !== null && round < 8) await this.#ask({ ...q, since: next }, round + 1);
  }
}
