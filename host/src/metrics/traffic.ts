import { HEADER_SIZE, OFFSET } from '@mcubus/protocol';
import type { FrameTransport } from '../transports/transport.js';

/** Frames and bytes (whole mcubus frames, before the bus's own framing) one way and the other. */
export interface Traffic {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
}

export interface TrafficSnapshot {
  readonly buses: ReadonlyMap<string, Readonly<Traffic>>;
  /** By device address: received frames by their source, sent frames by their destination. */
  readonly devices: ReadonlyMap<number, Readonly<Traffic>>;
}

const zero = (): Traffic => ({ rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0 });

/**
 * Counts the frames the daemon receives and sends, per bus and per device. Transports count their own
 * wire traffic under names of their own (and the simulated ones hardly at all), and nothing counted
 * per device: this counts the same thing, frames at the daemon's edge, for every kind of bus.
 *
 * It wraps each transport rather than living in the daemon, so the daemon's hot path stays as it is
 * and a daemon built without it (tests, benchmarks) is unchanged.
 */
export class TrafficCounter {
  readonly #buses = new Map<string, Traffic>();
  readonly #devices = new Map<number, Traffic>();

  /** The transports, each counting through this counter; everything else is the transport's own. */
  wrap(transports: readonly FrameTransport[]): FrameTransport[] {
    return transports.map((t) => this.#wrapOne(t));
  }

  snapshot(): TrafficSnapshot {
    const copy = <K>(m: Map<K, Traffic>) => new Map([...m].map(([k, v]) => [k, { ...v }]));
    return { buses: copy(this.#buses), devices: copy(this.#devices) };
  }

  #wrapOne(t: FrameTransport): FrameTransport {
    const bus = this.#entry(this.#buses, t.name);
    // Every member but these two is the transport's own, bound to it (its private fields need that),
    // including members added to FrameTransport after this was written.
    const own = new Map<PropertyKey, unknown>();
    const send: FrameTransport['send'] = (frame, nextHop, priority, onStarted) => {
      bus.txFrames++;
      bus.txBytes += frame.length;
      this.#device(frame, OFFSET.dst, 'tx');
      t.send(frame, nextHop, priority, onStarted);
    };
    const onFrame: FrameTransport['onFrame'] = (listener) =>
      t.onFrame((frame, info) => {
        bus.rxFrames++;
        bus.rxBytes += frame.length;
        this.#device(frame, OFFSET.src, 'rx');
        listener(frame, info);
      });
    return new Proxy(t, {
      get(target, prop) {
        if (prop === 'send') return send;
        if (prop === 'onFrame') return onFrame;
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        let bound = own.get(prop);
        if (bound === undefined) {
          bound = (value as (...a: unknown[]) => unknown).bind(target);
          own.set(prop, bound);
        }
        return bound;
      },
    });
  }

  /**
   * The header's address byte, unchecked: a frame with a bad CRC still came from that bus, and at most
   * 256 addresses exist, so a garbled one cannot grow this without bound (/metrics only shows devices
   * the registry knows).
   */
  #device(frame: Uint8Array, offset: number, dir: 'rx' | 'tx'): void {
    if (frame.length < HEADER_SIZE) return;
    const d = this.#entry(this.#devices, frame[offset]!);
    if (dir === 'rx') {
      d.rxFrames++;
      d.rxBytes += frame.length;
    } else {
      d.txFrames++;
      d.txBytes += frame.length;
    }
  }

  #entry<K>(m: Map<K, Traffic>, key: K): Traffic {
    let e = m.get(key);
    if (e === undefined) {
      e = zero();
      m.set(key, e);
    }
    return e;
  }
}
