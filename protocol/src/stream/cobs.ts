import { type CodedError, err, ok, type Result } from '../result.js';

/**
 * Consistent Overhead Byte Stuffing: removes every 0x00 from a frame so that 0x00 can delimit frames
 * on a byte stream. Overhead: one code byte per started run of 254 non-zero bytes (≤ 1 + n/254).
 */
export function cobsEncode(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(cobsMaxEncodedLength(input.length));
  const n = cobsEncodeInto(input, out, 0);
  return out.subarray(0, n);
}

export function cobsMaxEncodedLength(n: number): number {
  return n + Math.floor(n / 254) + 1;
}

/** Encodes into `out` at `at`; returns the index after the last written byte. */
export function cobsEncodeInto(input: Uint8Array, out: Uint8Array, at: number): number {
  let codeAt = at;
  let w = at + 1;
  let code = 1;
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (b === 0) {
      out[codeAt] = code;
      codeAt = w++;
      code = 1;
      continue;
    }
    out[w++] = b;
    code++;
    if (code === 0xff) {
      // A full run of 254 bytes: close it. A new block starts only if data follows, so an input of
      // exactly 254 non-zero bytes encodes as FF + 254 bytes, with no trailing 01.
      out[codeAt] = code;
      code = 1;
      if (i + 1 < input.length) codeAt = w++;
      else return w;
    }
  }
  out[codeAt] = code;
  return w;
}

export type CobsErrorCode = 'cobs_zero' | 'cobs_overrun';

/** Decodes one COBS block sequence (without its delimiter). Never throws. */
export function cobsDecode(input: Uint8Array): Result<Uint8Array, CodedError<CobsErrorCode>> {
  const out = new Uint8Array(input.length);
  let w = 0;
  let i = 0;
  while (i < input.length) {
    const code = input[i]!;
    if (code === 0)
      return err({ code: 'cobs_zero', message: `zero byte at offset ${i} inside a COBS frame` });
    const end = i + code;
    if (end > input.length) {
      return err({
        code: 'cobs_overrun',
        message: `code byte ${code} at offset ${i} runs past the end of the ${input.length}-byte frame`,
      });
    }
    for (let k = i + 1; k < end; k++) {
      const b = input[k]!;
      if (b === 0) return err({ code: 'cobs_zero', message: `zero byte at offset ${k} inside a COBS frame` });
      out[w++] = b;
    }
    i = end;
    // A block shorter than 255 stands for its bytes followed by a zero, except at the very end.
    if (code < 0xff && i < input.length) out[w++] = 0;
  }
  return ok(out.subarray(0, w));
}
