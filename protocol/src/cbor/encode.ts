import type { CborMap, CborValue } from './value.js';

/**
 * Deterministic encoder: shortest-form integer and length heads, definite lengths, map entries in the
 * order given (message codecs emit ascending keys), non-integral numbers as float64. Same value ⇒ same
 * bytes, which the golden vectors and the C library rely on.
 */
export class CborWriter {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialSize = 256) {
    this.#buf = new Uint8Array(initialSize);
    this.#view = new DataView(this.#buf.buffer);
  }

  #reserve(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  #head(major: number, value: number | bigint): void {
    const m = major << 5;
    if (typeof value === 'bigint') {
      this.#reserve(9);
      this.#buf[this.#pos++] = m | 27;
      this.#view.setBigUint64(this.#pos, value);
      this.#pos += 8;
      return;
    }
    if (value < 24) {
      this.#reserve(1);
      this.#buf[this.#pos++] = m | value;
    } else if (value < 0x100) {
      this.#reserve(2);
      this.#buf[this.#pos++] = m | 24;
      this.#buf[this.#pos++] = value;
    } else if (value < 0x10000) {
      this.#reserve(3);
      this.#buf[this.#pos++] = m | 25;
      this.#view.setUint16(this.#pos, value);
      this.#pos += 2;
    } else if (value < 0x100000000) {
      this.#reserve(5);
      this.#buf[this.#pos++] = m | 26;
      this.#view.setUint32(this.#pos, value);
      this.#pos += 4;
    } else {
      this.#reserve(9);
      this.#buf[this.#pos++] = m | 27;
      this.#view.setUint32(this.#pos, Math.floor(value / 0x100000000));
      this.#view.setUint32(this.#pos + 4, value >>> 0);
      this.#pos += 8;
    }
  }

  write(value: CborValue): this {
    switch (typeof value) {
      case 'number':
        if (Number.isSafeInteger(value)) {
          if (value >= 0) this.#head(0, value);
          else this.#head(1, -1 - value);
        } else {
          this.#reserve(9);
          this.#buf[this.#pos++] = 0xfb;
          this.#view.setFloat64(this.#pos, value);
          this.#pos += 8;
        }
        return this;
      case 'bigint':
        if (value >= 0n) {
          if (value > 0xffffffffffffffffn) throw new RangeError('CBOR integer exceeds 64 bits');
          this.#head(0, value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
        } else {
          const n = -1n - value;
          if (n > 0xffffffffffffffffn) throw new RangeError('CBOR integer exceeds 64 bits');
          this.#head(1, n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n);
        }
        return this;
      case 'string': {
        const bytes = textEncoder.encode(value);
        this.#head(3, bytes.length);
        this.#raw(bytes);
        return this;
      }
      case 'boolean':
        this.#reserve(1);
        this.#buf[this.#pos++] = value ? 0xf5 : 0xf4;
        return this;
      case 'object':
        if (value === null) {
          this.#reserve(1);
          this.#buf[this.#pos++] = 0xf6;
        } else if (value instanceof Uint8Array) {
          this.#head(2, value.length);
          this.#raw(value);
        } else if (Array.isArray(value)) {
          this.#head(4, value.length);
          for (const item of value) this.write(item);
        } else {
          this.#writeMap(value);
        }
        return this;
      default:
        throw new TypeError(`value of type ${typeof value} has no CBOR encoding in mcubus`);
    }
  }

  #writeMap(map: CborMap): void {
    this.#head(5, map.size);
    for (const [key, item] of map) {
      this.write(key);
      this.write(item);
    }
  }

  #raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  get length(): number {
    return this.#pos;
  }

  /** Copies the encoded bytes out. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }
}

const textEncoder = new TextEncoder();

export function encodeCbor(value: CborValue): Uint8Array {
  return new CborWriter().write(value).finish();
}
