import { CauseCounters } from '../counters.js';
import type { CanFrame } from '../isotp/can-frame.js';
import { fdDlcForLength, fdLengthForDlc } from '../isotp/can-frame.js';

/**
 * slcan (Lawicel ASCII) as spoken by USB-CAN adapters such as CANable: every command and every received
 * frame is one line ending in CR; the adapter answers a command with CR (ok) or BEL (error).
 *
 *   O / C           open / close the channel
 *   S0…S8           nominal bit rate 10k, 20k, 50k, 100k, 125k, 250k, 500k, 800k, 1M
 *   Y1…Y5           data bit rate for CAN FD (1M, 2M, 3M, 4M, 5M) — candleLight/CANable 2 firmware
 *   tIIILDD…        classic frame, 11-bit id, L = length 0–8
 *   TIIIIIIIILDD…   classic frame, 29-bit id
 *   dIIIL… / DIIIIIIIIL…   CAN FD frame without bit-rate switch; bIIIL… / BIIIIIIIIL… with it
 *                   (L is the DLC 0–F; FD lengths 12…64 use DLC 9…F)
 */
export const SLCAN_BITRATES: Readonly<Record<number, string>> = {
  10000: 'S0',
  20000: 'S1',
  50000: 'S2',
  100000: 'S3',
  125000: 'S4',
  250000: 'S5',
  500000: 'S6',
  800000: 'S7',
  1000000: 'S8',
};

export const SLCAN_DATA_BITRATES: Readonly<Record<number, string>> = {
  1000000: 'Y1',
  2000000: 'Y2',
  3000000: 'Y3',
  4000000: 'Y4',
  5000000: 'Y5',
};

const CR = 0x0d;
const BEL = 0x07;
const encoder = new TextEncoder();

export function slcanBitrateCommand(bitrate: number): Uint8Array | null {
  const cmd = SLCAN_BITRATES[bitrate];
  return cmd ? line(cmd) : null;
}

export function slcanDataBitrateCommand(bitrate: number): Uint8Array | null {
  const cmd = SLCAN_DATA_BITRATES[bitrate];
  return cmd ? line(cmd) : null;
}

export const slcanOpen = (): Uint8Array => line('O');
export const slcanClose = (): Uint8Array => line('C');

function line(text: string): Uint8Array {
  return encoder.encode(`${text}\r`);
}

const hex = (n: number, digits: number) => n.toString(16).toUpperCase().padStart(digits, '0');

/** The ASCII line that makes the adapter send `frame`. */
export function encodeSlcanFrame(frame: CanFrame): Uint8Array {
  const letter = frame.fd ? (frame.brs ? 'b' : 'd') : 't';
  const cmd = frame.extended ? letter.toUpperCase() : letter;
  const id = frame.extended ? hex(frame.id, 8) : hex(frame.id, 3);
  const dlc = frame.fd ? fdDlcForLength(frame.data.length) : frame.data.length;
  let data = '';
  for (const b of frame.data) data += hex(b, 2);
  return line(`${cmd}${id}${hex(dlc, 1)}${data}`);
}

export type SlcanEvent =
  | { readonly kind: 'frame'; readonly frame: CanFrame }
  | { readonly kind: 'ack' }
  | { readonly kind: 'nack' }
  | { readonly kind: 'error'; readonly code: SlcanErrorCode; readonly line: string };

export type SlcanErrorCode = 'bad_line' | 'bad_hex' | 'bad_length' | 'line_too_long';

const MAX_LINE = 1 + 8 + 1 + 128 + 8;

/**
 * Receive side: splits the adapter's byte stream into lines and decodes them. Accepts any chunking;
 * a malformed line is reported with its text and counted, and the next CR resynchronises.
 */
export class SlcanDecoder {
  readonly counters = new CauseCounters<SlcanErrorCode | 'frames'>();
  #line = '';

  push(chunk: Uint8Array): SlcanEvent[] {
    const out: SlcanEvent[] = [];
    for (const b of chunk) {
      if (b === BEL) {
        this.#line = '';
        out.push({ kind: 'nack' });
      } else if (b === CR) {
        const text = this.#line;
        this.#line = '';
        out.push(text.length === 0 ? { kind: 'ack' } : this.#decodeLine(text));
      } else if (b !== 0x0a) {
        if (this.#line.length >= MAX_LINE) {
          this.counters.add('line_too_long');
          out.push({ kind: 'error', code: 'line_too_long', line: this.#line.slice(0, 40) });
          this.#line = '';
          continue;
        }
        this.#line += String.fromCharCode(b);
      }
    }
    return out;
  }

  #decodeLine(text: string): SlcanEvent {
    const r = decodeSlcanFrameLine(text);
    if (r.kind === 'error') this.counters.add(r.code);
    else if (r.kind === 'frame') this.counters.add('frames');
    return r;
  }
}

/** Decodes one line (without its CR). Lines that are not frames (`z`/`Z` transmit acks) count as acks. */
export function decodeSlcanFrameLine(text: string): SlcanEvent {
  const c = text[0];
  if (c === 'z' || c === 'Z') return { kind: 'ack' };
  const fd = c === 'd' || c === 'D' || c === 'b' || c === 'B';
  const extended = c === 'T' || c === 'D' || c === 'B';
  if (!(c === 't' || c === 'T' || fd)) return { kind: 'error', code: 'bad_line', line: text };
  const idDigits = extended ? 8 : 3;
  const idText = text.slice(1, 1 + idDigits);
  const dlcText = text[1 + idDigits];
  if (idText.length !== idDigits || dlcText === undefined || !isHex(idText) || !isHex(dlcText)) {
    return { kind: 'error', code: 'bad_hex', line: text };
  }
  const id = Number.parseInt(idText, 16);
  const dlc = Number.parseInt(dlcText, 16);
  if (id > (extended ? 0x1fffffff : 0x7ff) || (!fd && dlc > 8))
    return { kind: 'error', code: 'bad_length', line: text };
  const length = fd ? fdLengthForDlc(dlc) : dlc;
  const dataText = text.slice(2 + idDigits);
  if (dataText.length !== length * 2) return { kind: 'error', code: 'bad_length', line: text };
  if (!isHex(dataText)) return { kind: 'error', code: 'bad_hex', line: text };
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = Number.parseInt(dataText.slice(2 * i, 2 * i + 2), 16);
  const frame: CanFrame = { id, extended, fd, data, ...(c === 'b' || c === 'B' ? { brs: true } : {}) };
  return { kind: 'frame', frame };
}

function isHex(s: string): boolean {
  return /^[0-9A-Fa-f]*$/.test(s);
}
