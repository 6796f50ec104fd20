import { type CanFrame, CauseCounters, slcan } from '@mcubus/protocol';
import { TransportError, type TransportEvent } from '../transport.js';
import { type ReopenPolicy, SerialLine } from '../uart/serial-line.js';
import type { CanMedia } from './can-media.js';

export interface SlcanMediaOptions extends ReopenPolicy {
  /** The adapter's tty, e.g. /dev/ttyACM0. */
  readonly path: string;
  /** CAN nominal bit rate (10k…1M, see slcan.SLCAN_BITRATES). Default 500 000. */
  readonly bitrate?: number;
  /** Serial baud rate of the tty (ignored by USB CDC adapters). Default 115200. */
  readonly baudRate?: number;
  /** How long to wait for the adapter's CR after a setup command (ms). Default 1000. */
  readonly ackTimeoutMs?: number;
}

interface PendingAck {
  readonly command: string;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * CAN through an slcan (Lawicel) adapter such as a CANable: on every open sends `S<n>` then `O`, each
 * acknowledged by CR (BEL = refused), then exchanges frames as ASCII lines. Reopens with backoff.
 */
export class SlcanMedia implements CanMedia {
  readonly #line: SerialLine;
  readonly #counters = new CauseCounters();
  readonly #bitrateCommand: Uint8Array;
  readonly #ackTimeoutMs: number;
  readonly #frameListeners: ((frame: CanFrame, rxUs: number) => void)[] = [];
  readonly #eventListeners: ((event: TransportEvent) => void)[] = [];
  readonly #charUs: number;
  #decoder = new slcan.SlcanDecoder();
  readonly #acks: PendingAck[] = [];

  constructor(readonly options: SlcanMediaOptions) {
    const bitrate = options.bitrate ?? 500_000;
    const cmd = slcan.slcanBitrateCommand(bitrate);
    if (!cmd) {
      throw new TransportError(
        'bad_config',
        `slcan cannot set a CAN bit rate of ${bitrate}; use one of ${Object.keys(slcan.SLCAN_BITRATES).join(', ')}`,
      );
    }
    this.#bitrateCommand = cmd;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 1000;
    const baudRate = options.baudRate ?? 115200;
    this.#charUs = 10_000_000 / baudRate;
    this.#line = new SerialLine(
      { path: options.path, baudRate },
      {
        onOpen: () => this.#setup(),
        onData: (bytes, rxUs) => this.#onData(bytes, rxUs),
        onClosed: () => this.#reset(),
        onEvent: (e) => this.#emit(e),
      },
      options,
    );
  }

  start(): Promise<void> {
    return this.#line.start();
  }

  startInBackground(): void {
    this.#line.startInBackground();
  }

  async stop(): Promise<void> {
    if (this.#line.isOpen) this.#line.write(slcan.slcanClose());
    await this.#line.stop();
  }

  send(frame: CanFrame): void {
    if (this.#line.write(slcan.encodeSlcanFrame(frame))) this.#counters.add('tx_frames');
    else this.#counters.add('tx_dropped_closed');
  }

  onFrame(listener: (frame: CanFrame, rxUs: number) => void): void {
    this.#frameListeners.push(listener);
  }

  onEvent(listener: (event: TransportEvent) => void): void {
    this.#eventListeners.push(listener);
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = { ...this.#counters.snapshot() };
    for (const [k, v] of Object.entries(this.#line.counters.snapshot())) out[`line_${k}`] = v;
    return out;
  }

  async #setup(): Promise<void> {
    // Both commands go at once; the adapter answers them in order.
    const bitrate = this.#command(this.#bitrateCommand);
    const open = this.#command(slcan.slcanOpen());
    await Promise.all([bitrate, open]);
  }

  #command(bytes: Uint8Array): Promise<void> {
    const command = new TextDecoder().decode(bytes).trim();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#acks.findIndex((a) => a.timer === timer);
        if (i >= 0) this.#acks.splice(i, 1);
        reject(
          new TransportError(
            'open_failed',
            `slcan adapter on ${this.options.path} did not answer ${command} within ${this.#ackTimeoutMs} ms`,
          ),
        );
      }, this.#ackTimeoutMs);
      this.#acks.push({ command, resolve, reject, timer });
      this.#line.write(bytes);
    });
  }

  #onData(bytes: Uint8Array, rxUs: number): void {
    // Each event is placed at the end of its line: one character time per byte still to come in the chunk.
    let consumed = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b !== 0x0d && b !== 0x07 && i !== bytes.length - 1) continue;
      const events = this.#decoder.push(bytes.subarray(consumed, i + 1));
      consumed = i + 1;
      const atUs = Math.round(rxUs - (bytes.length - 1 - i) * this.#charUs);
      for (const e of events) {
        switch (e.kind) {
          case 'frame':
            this.#counters.add('rx_frames');
            for (const l of this.#frameListeners) l(e.frame, atUs);
            break;
          case 'ack': {
            const a = this.#acks.shift();
            if (a) {
              clearTimeout(a.timer);
              a.resolve();
            } else this.#counters.add('ack');
            break;
          }
          case 'nack': {
            this.#counters.add('nack');
            const a = this.#acks.shift();
            if (a) {
              clearTimeout(a.timer);
              a.reject(
                new TransportError(
                  'open_failed',
                  `slcan adapter on ${this.options.path} refused ${a.command}`,
                ),
              );
            }
            this.#emit({
              kind: 'error',
              code: 'slcan_nack',
              detail: `slcan adapter answered BEL${a ? ` to ${a.command}` : ' (a frame was refused or the bus is in error)'}`,
            });
            break;
          }
          case 'error':
            this.#counters.add(`bad_${e.code}`);
            this.#emit({
              kind: 'bad_input',
              code: `slcan_${e.code}`,
              detail: `slcan line ${JSON.stringify(e.line)}`,
            });
            break;
        }
      }
    }
  }

  #reset(): void {
    this.#decoder = new slcan.SlcanDecoder();
    for (const a of this.#acks.splice(0)) {
      clearTimeout(a.timer);
      a.reject(new TransportError('open_failed', `slcan adapter on ${this.options.path} went away`));
    }
  }

  #emit(event: TransportEvent): void {
    for (const l of this.#eventListeners) l(event);
  }
}
