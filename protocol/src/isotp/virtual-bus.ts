import type { CanFrame } from './can-frame.js';
import type { IsoTpEmit, IsoTpInput, IsoTpOutput } from './events.js';

/** Anything driven like IsoTpNode. */
export interface SansIoCanNode {
  readonly config: { readonly address: number };
  handle(event: IsoTpInput, now: number): IsoTpOutput;
  nextWake(): number | undefined;
}

export interface VirtualCanBusOptions {
  /**
   * Sees each frame as it is put on the bus and returns what the other nodes receive instead: [] to
   * drop it, a changed frame to corrupt it, several to duplicate it. Default: delivered unchanged.
   */
  readonly tamper?: (frame: CanFrame, sender: number, at: number) => CanFrame[];
  /** Also deliver each frame back to its sender (as controllers with loopback do). Default false. */
  readonly loopback?: boolean;
  /** Guard against a node that never settles: run() throws after this many steps. Default 1 000 000. */
  readonly maxSteps?: number;
}

/**
 * A virtual CAN bus and clock for sans-IO nodes, for tests and simulations: frames reach every other
 * node in the order sent with no delay, and time jumps straight to the earliest wakeAt whenever the
 * bus is quiet. Deterministic, so a failing run replays exactly.
 */
export class VirtualCanBus {
  /** Current virtual time, µs. */
  now = 0;
  /** Every frame put on the bus (before tampering), with its time and sender address. */
  readonly trace: { at: number; sender: number; frame: CanFrame }[] = [];
  /** Every event a node emitted, with its time and the node's address. */
  readonly events: { at: number; node: number; event: IsoTpEmit }[] = [];

  readonly #nodes: readonly SansIoCanNode[];
  readonly #options: VirtualCanBusOptions;
  readonly #inFlight: { sender: SansIoCanNode; frame: CanFrame }[] = [];

  constructor(nodes: readonly SansIoCanNode[], options: VirtualCanBusOptions = {}) {
    this.#nodes = nodes;
    this.#options = options;
  }

  /** Hands an event (usually a transmit) to a node at the current time. */
  input(node: SansIoCanNode, event: IsoTpInput): void {
    this.#apply(node, event);
  }

  /** Delivers frames and advances time until every node is idle (or `until` µs is reached). */
  run(until = Number.POSITIVE_INFINITY): void {
    const maxSteps = this.#options.maxSteps ?? 1_000_000;
    for (let step = 0; step < maxSteps; step++) {
      const next = this.#inFlight.shift();
      if (next !== undefined) {
        this.#deliver(next.sender, next.frame);
        continue;
      }
      const wake = this.#earliestWake();
      if (wake === undefined || wake > until) return;
      this.now = Math.max(this.now, wake);
      for (const node of this.#nodes) {
        const at = node.nextWake();
        if (at !== undefined && at <= this.now) this.#apply(node, { type: 'tick' });
      }
    }
    throw new Error(`VirtualCanBus: nodes did not settle within ${maxSteps} steps`);
  }

  #earliestWake(): number | undefined {
    let earliest: number | undefined;
    for (const node of this.#nodes) {
      const at = node.nextWake();
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  #deliver(sender: SansIoCanNode, frame: CanFrame): void {
    const address = sender.config.address;
    const frames = this.#options.tamper ? this.#options.tamper(frame, address, this.now) : [frame];
    for (const delivered of frames) {
      for (const node of this.#nodes) {
        if (node !== sender || this.#options.loopback) this.#apply(node, { type: 'frame', frame: delivered });
      }
    }
  }

  #apply(node: SansIoCanNode, event: IsoTpInput): void {
    const output = node.handle(event, this.now);
    for (const frame of output.send) {
      this.trace.push({ at: this.now, sender: node.config.address, frame });
      this.#inFlight.push({ sender: node, frame });
    }
    for (const emitted of output.emit)
      this.events.push({ at: this.now, node: node.config.address, event: emitted });
  }
}
