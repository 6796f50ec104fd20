import type { CanFrame } from '../isotp/can-frame.js';
import { FD_DATA_LENGTHS } from '../isotp/can-frame.js';
import { type CodedError, err, ok, type Result } from '../result.js';

/**
 * The candump log format (`candump -l`, read by `canplayer` and most CAN tools), one frame a line:
 *
 *   (1436509052.249713) can0 18DA21F1#10140108210004
 *   (1436509052.250001) can0 123#R                      remote frame (optional length: 123#R4)
 *   (1436509052.250100) can0 18DA21F1##1<64 bytes hex>   CAN FD; the nibble after ## is the flags
 *                                                       (1 = BRS, 2 = ESI)
 *
 * Three hex digits are a standard (11-bit) id, eight an extended (29-bit) one. Error frames (the
 * CAN_ERR_FLAG bit 0x20000000 in an eight-digit id) are kept as errors, since they carry no mcubus
 * data. A trailing direction marker (" R" / " T", newer candump -x) is accepted and kept.
 */
export interface CandumpRecord {
  /** Seconds and microseconds as written (kept apart: a double would lose the µs of a Unix time). */
  readonly seconds: number;
  readonly micros: number;
  readonly iface: string;
  readonly frame: CanFrame & { readonly esi?: boolean; readonly rtr?: boolean };
  readonly direction?: 'rx' | 'tx';
}

export type CandumpErrorCode = 'bad_line' | 'bad_time' | 'bad_id' | 'bad_data' | 'error_frame';
export type CandumpError = CodedError<CandumpErrorCode>;

const LINE = /^\((\d+)\.(\d{1,9})\)\s+(\S+)\s+([0-9A-Fa-f]+)(##|#)(\S*)(?:\s+([RT]))?\s*$/;
const CAN_ERR_FLAG = 0x20000000;
const EFF_MAX = 0x1fffffff;

/** Parses one line; never throws. Blank lines and `#` comments are for the caller to skip. */
export function parseCandumpLine(line: string): Result<CandumpRecord, CandumpError> {
  const m = LINE.exec(line);
  if (!m) return err({ code: 'bad_line', message: `not a candump line: "${clip(line)}"` });
  const [, sec, frac, iface, idHex, sep, rest, dir] = m as unknown as string[];
  const micros = Math.round(Number(`0.${frac}`) * 1e6);
  if (!Number.isSafeInteger(Number(sec)))
    return err({ code: 'bad_time', message: `time ${sec}.${frac} is out of range` });
  let extended: boolean;
  if (idHex!.length === 3) extended = false;
  else if (idHex!.length === 8) extended = true;
  else
    return err({
      code: 'bad_id',
      message: `CAN id "${idHex}" must have 3 (standard) or 8 (extended) hex digits`,
    });
  const raw = Number.parseInt(idHex!, 16);
  if (extended && (raw & CAN_ERR_FLAG) !== 0)
    return err({
      code: 'error_frame',
      message: `error frame ${idHex}#${rest} (bus error reported by the controller)`,
    });
  if (extended ? raw > EFF_MAX : raw > 0x7ff)
    return err({
      code: 'bad_id',
      message: `CAN id 0x${idHex} is out of range for a ${extended ? '29' : '11'}-bit id`,
    });
  const base = {
    seconds: Number(sec),
    micros: micros >= 1_000_000 ? 999_999 : micros,
    iface: iface!,
    ...(dir ? { direction: dir === 'R' ? ('rx' as const) : ('tx' as const) } : {}),
  };
  if (sep === '##') {
    const flags = Number.parseInt(rest!.slice(0, 1), 16);
    const data = hexBytes(rest!.slice(1));
    if (Number.isNaN(flags) || !data || !FD_DATA_LENGTHS.includes(data.length))
      return err({
        code: 'bad_data',
        message: `CAN FD data "${clip(rest!)}" is not a flags nibble and 0–64 bytes of a valid length`,
      });
    return ok({
      ...base,
      frame: {
        id: raw,
        extended,
        fd: true,
        data,
        ...(flags & 1 ? { brs: true } : {}),
        ...(flags & 2 ? { esi: true } : {}),
      },
    });
  }
  if (rest!.startsWith('R')) {
    const len = rest!.length > 1 ? Number.parseInt(rest!.slice(1), 16) : 0;
    if (Number.isNaN(len) || len > 8)
      return err({ code: 'bad_data', message: `remote frame length "${rest}" is not 0–8` });
    return ok({ ...base, frame: { id: raw, extended, fd: false, data: new Uint8Array(0), rtr: true } });
  }
  // Classic data, optionally with the raw DLC of a length-8 frame after "_" (len8_dlc): ignored.
  const data = hexBytes(rest!.replace(/_[0-9A-Fa-f]$/, ''));
  if (!data || data.length > 8)
    return err({ code: 'bad_data', message: `data "${clip(rest!)}" is not 0–8 bytes of hex` });
  return ok({ ...base, frame: { id: raw, extended, fd: false, data } });
}

/** One candump log line (no newline). */
export function formatCandumpLine(r: CandumpRecord): string {
  const f = r.frame;
  const id = f.id
    .toString(16)
    .toUpperCase()
    .padStart(f.extended ? 8 : 3, '0');
  const hex = Array.from(f.data, (b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
  const body = f.fd
    ? `##${((f.brs ? 1 : 0) | (f.esi ? 2 : 0)).toString(16).toUpperCase()}${hex}`
    : f.rtr
      ? '#R'
      : `#${hex}`;
  const dir = r.direction ? ` ${r.direction === 'rx' ? 'R' : 'T'}` : '';
  return `(${r.seconds}.${String(r.micros).padStart(6, '0')}) ${r.iface} ${id}${body}${dir}`;
}

/** A whole log: records and, per bad line, a typed error with its line number. Skips blanks. */
export function parseCandumpLog(text: string): {
  records: CandumpRecord[];
  errors: { line: number; error: CandumpError }[];
} {
  const records: CandumpRecord[] = [];
  const errors: { line: number; error: CandumpError }[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const r = parseCandumpLine(line);
    if (r.ok) records.push(r.value);
    else errors.push({ line: i + 1, error: r.error });
  });
  return { records, errors };
}

function hexBytes(s: string): Uint8Array | null {
  if (s.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(s)) return null;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
