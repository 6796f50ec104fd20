import { type CodedError, err, ok, type Result } from '../result.js';
import { CBOR_MAX_DEPTH, type CborMap, type CborValue } from './value.js';

export type CborErrorCode =
  | 'truncated'
  | 'trailing_bytes'
  | 'unsupported_item'
  | 'invalid_utf8'
  | 'too_deep'
  | 'bad_map_key'
  | 'duplicate_key';

export type CborError = CodedError<CborErrorCode> & { readonly offset: number };

/** Thrown only inside this module and always caught by `decodeCbor`. */
class Fail {
  constructor(
    readonly code: CborErrorCode,
    readonly message: string,
    readonly offset: number,
  ) {}
}

// ignoreBOM: a leading U+FEFF is content, not a marker to strip silently.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes exactly one CBOR item of the mcubus subset. Liberal in integer width (a non-shortest head is
 * accepted), strict in everything else. Byte strings are views into `bytes` (no copy).
 */
export function decodeCbor(bytes: Uint8Array): Result<CborValue, CborError> {
  const reader = new Reader(bytes);
  try {
    const value = reader.item(0);
    if (reader.pos !== bytes.length) {
      return err({
        code: 'trailing_bytes',
        message: `${bytes.length - reader.pos} byte(s) after the CBOR item`,
        offset: reader.pos,
      });
    }
    return ok(value);
  } catch (e) {
    if (e instanceof Fail) return err({ code: e.code, message: e.message, offset: e.offset });
    throw e;
  }
}

class Reader {
  pos = 0;
  readonly #view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) {
      throw new Fail(
        'truncated',
        `${what} needs ${n} byte(s), ${this.bytes.length - this.pos} left`,
        this.pos,
      );
    }
  }

  /** Reads the argument of a head; returns a number when safe, else a bigint. */
  #argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    switch (info) {
      case 24:
        this.#need(1, 'integer');
        return this.bytes[this.pos++]!;
      case 25: {
        this.#need(2, 'integer');
        const v = this.#view.getUint16(this.pos);
        this.pos += 2;
        return v;
      }
      case 26: {
        this.#need(4, 'integer');
        const v = this.#view.getUint32(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.#need(8, 'integer');
        const v = this.#view.getBigUint64(this.pos);
        this.pos += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 31:
        throw new Fail('unsupported_item', 'indefinite-length items are not used by mcubus', start);
      default:
        throw new Fail('unsupported_item', `reserved additional information ${info}`, start);
    }
  }

  #length(info: number, start: number): number {
    const n = this.#argument(info, start);
    // A length can never exceed what is left: fail before allocating anything.
    if (typeof n === 'bigint' || n > this.bytes.length - this.pos) {
      throw new Fail(
        'truncated',
        `declared length ${n} exceeds the ${this.bytes.length - this.pos} byte(s) left`,
        start,
      );
    }
    return n;
  }

  item(depth: number): CborValue {
    const start = this.pos;
    this.#need(1, 'item head');
    const initial = this.bytes[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    switch (major) {
      case 0:
        return this.#argument(info, start);
      case 1: {
        const n = this.#argument(info, start);
        if (typeof n === 'bigint') return -1n - n;
        return n === Number.MAX_SAFE_INTEGER ? -1n - BigInt(n) : -1 - n;
      }
      case 2: {
        const len = this.#length(info, start);
        const out = this.bytes.subarray(this.pos, this.pos + len);
        this.pos += len;
        return out;
      }
      case 3: {
        const len = this.#length(info, start);
        const raw = this.bytes.subarray(this.pos, this.pos + len);
        this.pos += len;
        try {
          return utf8.decode(raw);
        } catch {
          throw new Fail('invalid_utf8', 'text string is not valid UTF-8', start);
        }
      }
      case 4: {
        if (depth >= CBOR_MAX_DEPTH)
          throw new Fail('too_deep', `more than ${CBOR_MAX_DEPTH} nested arrays or maps`, start);
        const len = this.#length(info, start);
        const out: CborValue[] = [];
        for (let i = 0; i < len; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        if (depth >= CBOR_MAX_DEPTH)
          throw new Fail('too_deep', `more than ${CBOR_MAX_DEPTH} nested arrays or maps`, start);
        const len = this.#length(info, start);
        const out: CborMap = new Map();
        for (let i = 0; i < len; i++) {
          const keyAt = this.pos;
          // Keys are integers or text on the wire: a float (even 1.0) or a simple value is refused.
          const keyMajor = (this.bytes[this.pos] ?? 0) >> 5;
          const key = this.item(depth + 1);
          if (
            (keyMajor !== 0 && keyMajor !== 1 && keyMajor !== 3) ||
            (typeof key !== 'number' && typeof key !== 'string')
          ) {
            throw new Fail('bad_map_key', 'map keys must be integers or text', keyAt);
          }
          if (out.has(key)) throw new Fail('duplicate_key', `map key ${String(key)} appears twice`, keyAt);
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6:
        throw new Fail('unsupported_item', 'tags are not used by mcubus v1', start);
      default:
        return this.#simple(info, start);
    }
  }

  #simple(info: number, start: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 25: {
        this.#need(2, 'float16');
        const v = halfToNumber(this.#view.getUint16(this.pos));
        this.pos += 2;
        return v;
      }
      case 26: {
        this.#need(4, 'float32');
        const v = this.#view.getFloat32(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.#need(8, 'float64');
        const v = this.#view.getFloat64(this.pos);
        this.pos += 8;
        return v;
      }
      default:
        throw new Fail('unsupported_item', `simple value ${info} is not used by mcubus`, start);
    }
  }
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
