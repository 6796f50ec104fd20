import { CauseCounters, modbus } from '@mcubus/protocol';
import { type CaptureListener, CaptureTap } from '../capture-tap.js';
import type { FrameTransport, TransportEvent, TxStampListener } from '../transport.js';
import { nowUs, type ReopenPolicy, SerialLine } from '../uart/serial-line.js';
import { WakeTimer } from '../wake-timer.js';
import { DEFAULT_BULK_POLL_EVERY, type MasterInput, ModbusTunnelMaster } from './master-core.js';
import { captureAdus } from './modbus-capture.js';
import { modbusTimeAsymmetryUs } from './time-asymmetry.js';

/** An mcubus device on the line: its Modbus slave address and its mcubus node address. */
export interface ModbusDevice {
  readonly slave: number;
  readonly address: number;
}

export interface ModbusTransportOptions extends ReopenPolicy {
  readonly name: string;
  readonly path: string;
  /** Default 19200. */
  readonly baudRate?: number;
  /** Default 8E1 (Modbus's default line). */
  readonly parity?: 'none' | 'even' | 'odd';
  readonly stopBits?: 1 | 2;
  /** The mcubus devices polled on this line. */
  readonly devices: readonly ModbusDevice[];
  /** Poll period of an idle device (ms). Default 50. */
  readonly pollPeriodMs?: number;
  /** The slaves' processing allowance T_proc (µs). Default 50 000. */
  readonly processingUs?: number;
  /** Receive-path latency T_lat (USB-serial latency timer, µs). Default 16 000. */
  readonly latencyUs?: number;
  /** Back-off after a busy answer (exception 06, µs). Default: the core's (20 ms). */
  readonly busyBackoffUs?: number;
}

/** A register read that did not produce registers. */
export class ModbusRequestError extends Error {
  constructor(
    /** `timeout`, `closed`, `bad_request`, `bad_response` or the exception's name. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModbusRequestError';
  }
}

/** The largest mcubus frame the FC 0x41 tunnel carries (§8.6). */
export const MODBUS_MTU = 251;

interface PendingRead {
  readonly resolve: (registers: number[]) => void;
  readonly reject: (e: ModbusRequestError) => void;
}

/**
 * Modbus RTU master carrying mcubus frames in the FC 0x41 tunnel (docs/protocol.md §8), around the
 * sans-IO ModbusTunnelMaster: the adapter writes the ADUs the core returns at once and wakes the core
 * when it asks; it never paces anything itself.
 */
export class ModbusTransport implements FrameTransport {
  readonly kind = 'modbus' as const;
  readonly mtu = MODBUS_MTU;
  readonly ackBatch = DEFAULT_BULK_POLL_EVERY;
  readonly timeAsymmetryUs: number;
  readonly name: string;
  readonly #line: SerialLine;
  readonly #timing: modbus.RtuTiming;
  readonly #counters = new CauseCounters();
  readonly #bySlave = new Map<number, ModbusDevice>();
  readonly #byAddress = new Map<number, ModbusDevice>();
  readonly #reads = new Map<number, PendingRead>();
  readonly #frameListeners: ((frame: Uint8Array, info: { from?: number; rxUs: number }) => void)[] = [];
  readonly #eventListeners: ((event: TransportEvent) => void)[] = [];
  #core: ModbusTunnelMaster | null = null;
  #oldCoreCounters: Record<string, number> = {};
  readonly #wake = new WakeTimer();
  readonly #capture = new CaptureTap();
  #nextHandle = 1;

  constructor(readonly options: ModbusTransportOptions) {
    this.name = options.name;
    for (const d of options.devices) {
      this.#bySlave.set(d.slave, d);
      this.#byAddress.set(d.address, d);
    }
    const parity = options.parity ?? 'even';
    const stopBits = options.stopBits ?? 1;
    const baudRate = options.baudRate ?? 19200;
    this.#timing = modbus.rtuTiming(baudRate, { parity, stopBits });
    this.timeAsymmetryUs = modbusTimeAsymmetryUs(this.#timing);
    this.#line = new SerialLine(
      { path: options.path, baudRate, dataBits: 8, parity, stopBits },
      {
        onOpen: () => this.#createCore(),
        onData: (bytes, rxUs) => this.#drive({ type: 'bytes', bytes }, rxUs),
        onClosed: () => this.#dropCore('port closed'),
        onEvent: (e) => this.#emit(e),
      },
      options,
    );
  }

  start(): Promise<void> {
    return this.#line.start();
  }

  /** Like start(), but keeps retrying with backoff (reported as `lost` events) and never rejects. */
  startInBackground(): void {
    this.#line.startInBackground();
  }

  stop(): Promise<void> {
    return this.#line.stop();
  }

  send(frame: Uint8Array, nextHop: number, priority: 0 | 1 | 2 | 3, onStarted?: TxStampListener): void {
    const device = this.#byAddress.get(nextHop);
    if (!device) {
      this.#bad('unknown_device', `no Modbus device with mcubus address ${nextHop} on ${this.name}`);
      return;
    }
    if (frame.length === 0 || frame.length > MODBUS_MTU) {
      this.#bad(
        'bad_send_length',
        `frame of ${frame.length} bytes does not fit the tunnel (1–${MODBUS_MTU})`,
      );
      return;
    }
    if (!this.#core) {
      this.#counters.add('tx_dropped_closed');
      return;
    }
    this.#counters.add('tx_frames');
    // The tunnel sends it when the slave's turn comes: later than now, never earlier.
    onStarted?.(nowUs());
    this.#drive(
      { type: 'send', slave: device.slave, frame, handle: this.#nextHandle++, bulk: priority === 3 },
      nowUs(),
    );
  }

  /** Reads holding (0x03) or input (0x04) registers of any slave on the line (third-party probes, §8.11). */
  readRegisters(slave: number, fn: 0x03 | 0x04, start: number, quantity: number): Promise<number[]> {
    if (
      !Number.isInteger(slave) ||
      slave < 1 ||
      slave > 247 ||
      !Number.isInteger(quantity) ||
      quantity < 1 ||
      quantity > 125 ||
      !Number.isInteger(start) ||
      start < 0 ||
      start + quantity > 65536
    ) {
      this.#bad('bad_request', `read of ${quantity} registers at ${start} from slave ${slave}`);
      return Promise.reject(
        new ModbusRequestError(
          'bad_request',
          `cannot read ${quantity} registers at ${start} from slave ${slave}`,
        ),
      );
    }
    if (!this.#core) {
      return Promise.reject(new ModbusRequestError('closed', `${this.options.path} is not open`));
    }
    const handle = this.#nextHandle++;
    return new Promise<number[]>((resolve, reject) => {
      this.#reads.set(handle, { resolve, reject });
      this.#drive({ type: 'read', slave, fn, start, quantity, handle }, nowUs());
    });
  }

  onFrame(listener: (frame: Uint8Array, info: { from?: number; rxUs: number }) => void): void {
    this.#frameListeners.push(listener);
  }

  onEvent(listener: (event: TransportEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  onCapture(listener: CaptureListener): () => void {
    return this.#capture.add(listener);
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = { ...this.#counters.snapshot() };
    for (const [k, v] of Object.entries(this.#line.counters.snapshot())) out[`line_${k}`] = v;
    const core = this.#core?.counters.snapshot() ?? {};
    for (const k of new Set([...Object.keys(core), ...Object.keys(this.#oldCoreCounters)])) {
      out[`master_${k}`] = (core[k] ?? 0) + (this.#oldCoreCounters[k] ?? 0);
    }
    return out;
  }

  #createCore(): void {
    this.#core = new ModbusTunnelMaster({
      slaves: this.options.devices.map((d) => d.slave),
      timing: this.#timing,
      responseTimeoutUs: modbus.responseTimeoutUs(this.#timing, 256, {
        processingUs: this.options.processingUs ?? modbus.DEFAULT_PROCESSING_US,
        latencyUs: this.options.latencyUs ?? 16_000,
      }),
      idlePollUs: (this.options.pollPeriodMs ?? 50) * 1000,
      ...(this.options.busyBackoffUs === undefined ? {} : { busyBackoffUs: this.options.busyBackoffUs }),
    });
    // The line only becomes usable once the port is open: start polling now.
    queueMicrotask(() => this.#drive({ type: 'tick' }, nowUs()));
  }

  #dropCore(why: string): void {
    this.#wake.cancel();
    const core = this.#core;
    this.#core = null;
    if (core) {
      for (const [k, v] of Object.entries(core.counters.snapshot())) {
        this.#oldCoreCounters[k] = (this.#oldCoreCounters[k] ?? 0) + v;
      }
    }
    for (const [handle, read] of this.#reads) {
      this.#reads.delete(handle);
      read.reject(new ModbusRequestError('closed', `${this.options.path}: ${why}`));
    }
  }

  #drive(input: MasterInput, now: number): void {
    const core = this.#core;
    if (!core) {
      if (input.type === 'bytes') this.#counters.add('rx_bytes_while_closed', input.bytes.length);
      return;
    }
    const out = core.handle(input, now);
    if (this.#capture.active) captureAdus(this.#capture, out, now, this.#timing.charTimeUs);
    for (const adu of out.send) this.#line.write(adu);
    for (const e of out.emit) {
      switch (e.type) {
        case 'frame': {
          const device = this.#bySlave.get(e.slave);
          this.#counters.add('rx_frames');
          // The frame's first byte came (its length + 2 CRC bytes) character times before the end.
          const rxUs = Math.round(e.endUs - (e.frame.length + 2) * this.#timing.charTimeUs);
          const info = device ? { from: device.address, rxUs } : { rxUs };
          for (const l of this.#frameListeners) l(e.frame, info);
          break;
        }
        case 'delivered':
          this.#counters.add('tx_delivered');
          break;
        case 'registers': {
          const read = this.#reads.get(e.handle);
          this.#reads.delete(e.handle);
          read?.resolve([...e.registers]);
          break;
        }
        case 'failed': {
          const read = this.#reads.get(e.handle);
          if (read) {
            this.#reads.delete(e.handle);
            read.reject(new ModbusRequestError(e.reason, `slave ${e.slave}: ${e.reason}`));
          } else {
            this.#counters.add(`tx_failed_${e.reason}`);
            this.#emit({
              kind: 'error',
              code: 'send_failed',
              detail: `frame to slave ${e.slave}: ${e.reason}`,
            });
          }
          break;
        }
        case 'timeout':
          this.#counters.add('timeout');
          this.#emit({ kind: 'error', code: 'timeout', detail: `slave ${e.slave} did not answer` });
          break;
        case 'exception': {
          const name = modbus.exceptionName(e.code) ?? `exception_${e.code}`;
          this.#counters.add(`exception_${name}`);
          this.#emit({
            kind: 'error',
            code: `exception_${name}`,
            detail: `slave ${e.slave} answered exception ${e.code} (${name})`,
          });
          break;
        }
        case 'bad_input':
          this.#bad(e.code, e.detail);
          break;
      }
    }
    this.#schedule(out.wakeAt);
  }

  /** Wakes the core when it asks (never before: the deadline is rounded up). */
  #schedule(wakeAt: number | undefined): void {
    this.#wake.schedule(wakeAt, (now) => this.#drive({ type: 'tick' }, now));
  }

  #bad(code: string, detail: string): void {
    this.#counters.add(`bad_${code}`);
    this.#emit({ kind: 'bad_input', code, detail });
  }

  #emit(event: TransportEvent): void {
    for (const l of this.#eventListeners) l(event);
  }
}
