import { slcan } from '@mcubus/protocol';
import type { CanPort } from '../links/endpoints.js';

/**
 * A simulated USB-CAN adapter speaking slcan (Lawicel), like a CANable: it takes command lines from
 * the host (O, C, S0–S8, Y1–Y5, V, N, F, and t/T/d/D/b/B frames) and answers CR or BEL; while the
 * channel is open it forwards bus traffic to the host as frame lines. Byte transport is the caller's
 * (a pty in process mode), so this class has no I/O of its own.
 */
export class SlcanAdapterSim {
  #open = false;
  #line = '';
  #bitrateSet = false;
  readonly counters = { commands: 0, rejected: 0, framesToBus: 0, framesToHost: 0 };

  constructor(
    readonly port: CanPort,
    readonly toHost: (bytes: Uint8Array) => void,
    /** The bus's configured nominal rate: the adapter refuses another (the simulated bus has one rate). */
    readonly busBitrate: number,
  ) {
    port.onFrame((frame) => {
      if (!this.#open) return;
      this.counters.framesToHost++;
      toHost(slcan.encodeSlcanFrame(frame));
    });
  }

  get isOpen(): boolean {
    return this.#open;
  }

  /** Bytes from the host. */
  push(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (b === 0x0d) {
        const text = this.#line;
        this.#line = '';
        if (text.length > 0) this.#command(text);
      } else if (b !== 0x0a && this.#line.length < 200) {
        this.#line += String.fromCharCode(b);
      }
    }
  }

  #reply(ok: boolean, text = ''): void {
    if (!ok) this.counters.rejected++;
    this.toHost(new TextEncoder().encode(ok ? `${text}\r` : '\x07'));
  }

  #command(text: string): void {
    this.counters.commands++;
    const c = text[0];
    switch (c) {
      case 'O':
        // Real adapters refuse to open before a bit rate is chosen.
        this.#open = this.#bitrateSet;
        this.#reply(this.#bitrateSet);
        return;
      case 'C':
        this.#open = false;
        this.#reply(true);
        return;
      case 'S': {
        const rate = Object.entries(slcan.SLCAN_BITRATES).find(([, cmd]) => cmd === text)?.[0];
        const ok = !this.#open && rate !== undefined && Number(rate) === this.busBitrate;
        if (ok) this.#bitrateSet = true;
        this.#reply(ok);
        return;
      }
      case 'Y':
        this.#reply(!this.#open && Object.values(slcan.SLCAN_DATA_BITRATES).includes(text));
        return;
      case 'V':
        this.#reply(true, 'V1013');
        return;
      case 'N':
        this.#reply(true, 'NSIM1');
        return;
      case 'F':
        this.#reply(true, 'F00');
        return;
      default: {
        const r = slcan.decodeSlcanFrameLine(text);
        if (r.kind !== 'frame' || !this.#open) {
          this.#reply(false);
          return;
        }
        this.counters.framesToBus++;
        this.port.transmit(r.frame);
        this.#reply(true);
        return;
      }
    }
  }
}
