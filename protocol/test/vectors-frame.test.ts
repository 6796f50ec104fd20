import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cobsDecode,
  cobsEncode,
  crc32c,
  decodeCbor,
  decodeFrame,
  diagnostic,
  encodeFrame,
  FrameStreamDecoder,
  type Message,
} from '../src/index.js';
import { fromJson, hex, toJson, unhex } from './support/json.js';

const load = (name: string) =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8'));

describe('golden vectors: frames', () => {
  const suite = load('frame.json');

  it('has the CRC-32C check value', () => {
    for (const c of suite.crc32c)
      expect(`0x${crc32c(new TextEncoder().encode(c.ascii)).toString(16)}`).toBe(c.crc);
  });

  for (const v of suite.vectors) {
    it(`decodes and re-encodes: ${v.name}`, () => {
      const bytes = unhex(v.hex);
      const r = decodeFrame(bytes);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const { flags, ...header } = v.header;
      expect(bytes[1]).toBe(flags);
      expect(r.value.header).toEqual(header);
      expect(r.value.message.type).toBe(v.message);
      expect(toJson(r.value.message.body)).toEqual(v.body);
      expect(r.value.message.unknownKeys).toEqual(v.unknownKeys ?? []);
      if (v.bodyDiagnostic) {
        const body = decodeCbor(bytes.subarray(8, bytes.length - 4));
        expect(body.ok && diagnostic(body.value)).toBe(v.bodyDiagnostic);
      }
      if (v.message !== 'unknown' && !v.unknownKeys) {
        const again = encodeFrame(header, { type: v.message, body: fromJson(v.body) } as Message);
        expect(hex(again)).toBe(v.hex);
      }
    });
  }

  for (const v of suite.errors) {
    it(`rejects with ${v.error}: ${v.name}`, () => {
      const r = decodeFrame(unhex(v.hex), v.maxFrame);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe(v.error);
    });
  }
});

describe('golden vectors: COBS', () => {
  const suite = load('cobs.json');
  for (const v of suite.vectors) {
    it(v.name, () => {
      expect(hex(cobsEncode(unhex(v.decodedHex)))).toBe(v.encodedHex);
      const back = cobsDecode(unhex(v.encodedHex));
      expect(back.ok && hex(back.value)).toBe(v.decodedHex);
    });
  }
  for (const v of suite.errors) {
    it(`rejects with ${v.error}: ${v.name}`, () => {
      expect(cobsDecode(unhex(v.encodedHex))).toMatchObject({ ok: false, error: { code: v.error } });
    });
  }
  for (const s of suite.streams) {
    it(`stream: ${s.name}`, () => {
      const d = new FrameStreamDecoder(s.maxFrame);
      // byte by byte: the result must not depend on chunking
      const out: string[] = [];
      for (const b of unhex(s.streamHex)) {
        for (const e of d.push(new Uint8Array([b])))
          out.push(e.kind === 'frame' ? `frame ${hex(e.bytes)}` : e.error.code);
      }
      expect(out).toEqual(s.expect);
    });
  }
});
