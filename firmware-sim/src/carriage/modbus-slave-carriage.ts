import { CauseCounters, modbus } from '@mcubus/protocol';
import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import type { ByteEndpoint } from '../links/endpoints.js';
import type { Carriage, OutgoingFrame, RxStamp } from './carriage.js';

export interface ModbusSlaveOptions {
  /** Modbus slave address (1–247), configured separately from the mcubus address. */
  readonly slaveAddress: number;
  readonly baud: number;
  readonly line?: modbus.LineSettings;
  /** Time from the end of a request to the start of our response (device turnaround). */
  readonly turnaroundNs?: SimTime;
  /** Frames we can hold for the master's next polls. */
  readonly queueFrames?: number;
  /** Standard register reads (FC 0x03/0x04) for health probes; absent ⇒ exception 01. */
  readonly registers?: (fn: 0x03 | 0x04, start: number, quantity: number) => number[] | null;
}

/**
 * mcubus over Modbus RTU, slave side (docs/protocol.md §8): frames arrive in FC 0x41 requests; our
 * frames wait in a queue and leave one per answer, since a slave only speaks when polled.
 */
export class ModbusSlaveCarriage implements Carriage {
  readonly kind = 'modbus';
  readonly mtu = modbus.MAX_TUNNEL_FRAME_LENGTH;
  readonly #framer: modbus.RtuFramer;
  readonly #queue: OutgoingFrame[] = [];
  readonly #listeners: ((frame: Uint8Array, stamp: RxStamp) => void)[] = [];
  readonly #errors = new CauseCounters();
  readonly #turnaroundNs: SimTime;
  readonly #queueFrames: number;
  #powered = true;
  #epoch = 0;

  constructor(
    readonly name: string,
    readonly sim: Sim,
    readonly endpoint: ByteEndpoint,
    readonly opts: ModbusSlaveOptions,
  ) {
    const timing = modbus.rtuTiming(opts.baud, opts.line);
    this.#framer = new modbus.RtuFramer({ role: 'slave', timing });
    // A slave must not answer before the line has been quiet for t3.5 (docs/protocol.md §8).
    this.#turnaroundNs = opts.turnaroundNs ?? Math.max(2_000_000, (timing.t35Us + 100) * 1000);
    this.#queueFrames = opts.queueFrames ?? 16;
    endpoint.onReceive((bytes, atNs) => this.#receive(bytes, atNs));
  }

  send(frame: OutgoingFrame): void {
    if (!this.#powered) return;
    const older =
      frame.supersedes === undefined ? -1 : this.#queue.findIndex((q) => q.supersedes === frame.supersedes);
    if (older >= 0) {
      // It keeps the older one's place: the news goes out no later than the old would have.
      this.#queue[older] = frame;
      this.#errors.add('tx_superseded');
      return;
    }
    if (this.#queue.length >= this.#queueFrames) {
      this.#errors.add('tx_queue_full');
      return;
    }
    this.#queue.push(frame);
  }

  readonly #badInput: ((code: string, detail: string) => void)[] = [];

  onBadInput(listener: (code: string, detail: string) => void): void {
    this.#badInput.push(listener);
  }

  onFrame(listener: (frame: Uint8Array, stamp: RxStamp) => void): void {
    this.#listeners.push(listener);
  }

  setPowered(on: boolean): void {
    this.#powered = on;
  }

  errorCounts(): { modbus: number } {
    let modbus = 0;
    for (const [code, n] of Object.entries(this.counters()))
      if (code !== 'tx_queue_full' && code !== 'tx_superseded') modbus += n;
    return { modbus };
  }

  counters(): Record<string, number> {
    return { ...this.#framer.counters.snapshot(), ...this.#errors.snapshot() };
  }

  reset(): void {
    this.#queue.length = 0;
    this.#framer.reset();
    this.#epoch++; // answers scheduled before the reset are never sent
  }

  /** Frames waiting for a poll. */
  get queued(): number {
    return this.#queue.length;
  }

  #receive(bytes: Uint8Array, atNs: SimTime): void {
    if (!this.#powered) return;
    for (const r of this.#framer.push(bytes, atNs / 1000)) {
      if (!r.ok) {
        // Counted by the framer. On a shared line this also sees garbage between other slaves' frames.
        for (const l of this.#badInput) l(r.error.code, r.error.message);
        continue;
      }
      const adu = r.value;
      if (adu.address !== this.opts.slaveAddress && adu.address !== modbus.BROADCAST_ADDRESS) continue;
      const request = modbus.requestFromAdu(adu);
      if (!request.ok) {
        // Another slave's response on the shared line also lands here; only count what is ours.
        if (adu.address === this.opts.slaveAddress) this.#errors.add(`request_${request.error.code}`);
        continue;
      }
      const len = adu.data.length + 4;
      const stamp = { startNs: atNs - len * this.endpoint.byteTimeNs, endNs: atNs };
      this.#handle(request.value, stamp, adu.address === modbus.BROADCAST_ADDRESS);
    }
  }

  #handle(request: modbus.ModbusRequest, stamp: RxStamp, broadcast: boolean): void {
    if (request.kind === 'mcubus' && request.frame) {
      for (const l of this.#listeners) l(request.frame, stamp);
    }
    if (broadcast) return; // a broadcast is never answered
    const epoch = this.#epoch;
    this.sim.scheduler.after(this.#turnaroundNs, () => {
      if (epoch === this.#epoch && this.#powered) this.#answer(request);
    });
  }

  #answer(request: modbus.ModbusRequest): void {
    const address = this.opts.slaveAddress;
    let response: modbus.ModbusResponse;
    if (request.kind === 'mcubus') {
      const next = this.#queue.shift();
      const startNs = Math.max(this.sim.now, this.endpoint.txIdleAt);
      const frame = next ? next.build(startNs) : null;
      response = { address, kind: 'mcubus', function: 0x41, frame };
      if (next?.started) {
        const started = next.started;
        this.sim.scheduler.at(startNs, () => started(startNs));
      }
    } else if (request.kind === 'read_registers') {
      const values = this.opts.registers?.(request.function, request.start, request.quantity) ?? null;
      response = values
        ? { address, kind: 'read_registers', function: request.function, registers: values }
        : modbus.exceptionResponse(address, request.function, modbus.ExceptionCode.ILLEGAL_DATA_ADDRESS);
    } else {
      response = modbus.exceptionResponse(address, request.function, modbus.ExceptionCode.ILLEGAL_FUNCTION);
    }
    const bytes = modbus.encodeResponse(response);
    if (!bytes.ok) {
      this.#errors.add(`encode_${bytes.error.code}`);
      return;
    }
    this.endpoint.write(bytes.value);
  }
}
