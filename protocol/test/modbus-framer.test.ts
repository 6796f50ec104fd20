import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../src/frame/index.js';
import {
  type Adu,
  crc16Modbus,
  decodeAdu,
  expectedAduLength,
  type ModbusError,
  RtuFramer,
  rtuTiming,
} from '../src/modbus/index.js';
import type { Result } from '../src/result.js';

const fromHex = (s: string): Uint8Array =>
  Uint8Array.from(s.split(/\s+/).filter(Boolean), (h) => Number.parseInt(h, 16));
const withCrc = (hex: string): Uint8Array => {
  const b = fromHex(hex);
  const crc = crc16Modbus(b);
  return Uint8Array.of(...b, crc & 0xff, crc >>> 8);
};
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const adu = (bytes: Uint8Array): Adu => {
  const r = decodeAdu(bytes);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
/** Results as comparable values: the ADU, or the error code. */
const summary = (results: Result<Adu, ModbusError>[]) => results.map((r) => (r.ok ? r.value : r.error.code));

const timing = rtuTiming(9600); // character 1145.8 µs, t3.5 4010 µs
const READ_RESPONSE = fromHex('11 03 06 ae 41 56 52 43 40 49 ad');
const READ_REQUEST = fromHex('11 03 00 6b 00 03 76 87');
const POLL = fromHex('11 41 00 11 95');
const TUNNEL = withCrc('11 41 06 a5 5a 01 02 03 04');

describe('expectedAduLength', () => {
  const length = (hex: string, direction: 'request' | 'response') => {
    const r = expectedAduLength(fromHex(hex), direction);
    return r.ok ? r.value : r.error.code;
  };

  it('needs the bytes that hold the length', () => {
    expect(length('', 'request')).toBe('need_more');
    expect(length('11', 'response')).toBe('need_more');
    expect(length('11 03', 'response')).toBe('need_more');
    expect(length('11 41', 'request')).toBe('need_more');
    expect(length('11 10 00 01 00 02', 'request')).toBe('need_more');
  });

  it('gives fixed lengths for fixed layouts', () => {
    expect(length('11 03', 'request')).toBe(8);
    expect(length('11 04', 'request')).toBe(8);
    expect(length('11 06', 'request')).toBe(8);
    expect(length('11 06', 'response')).toBe(8);
    expect(length('11 10', 'response')).toBe(8);
    expect(length('11 83', 'response')).toBe(5);
    expect(length('11 c1', 'response')).toBe(5);
  });

  it('reads the length from the count byte', () => {
    expect(length('11 03 06', 'response')).toBe(11);
    expect(length('11 10 00 01 00 02 04', 'request')).toBe(13);
    expect(length('11 41 00', 'request')).toBe(5);
    expect(length('00 41 03', 'request')).toBe(8);
    expect(length('11 41 fb', 'response')).toBe(256);
  });

  it('refuses at once what cannot start an ADU in that direction', () => {
    expect(length('f8', 'request')).toBe('reserved_address');
    expect(length('00', 'response')).toBe('broadcast_response');
    expect(length('11 05', 'request')).toBe('unknown_function');
    expect(length('11 83', 'request')).toBe('unknown_function');
    expect(length('11 80', 'response')).toBe('unknown_function');
    expect(length('11 41 fc', 'request')).toBe('bad_byte_count');
    expect(length('11 03 07', 'response')).toBe('bad_byte_count');
    expect(length('11 03 fc', 'response')).toBe('bad_byte_count');
    expect(length('11 10 00 01 00 00 00', 'request')).toBe('bad_quantity');
    expect(length('11 10 00 01 00 02 05', 'request')).toBe('bad_byte_count');
  });
});

describe('RtuFramer', () => {
  it('delivers an ADU pushed whole, with no errors counted', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    expect(summary(framer.push(READ_RESPONSE, 0))).toEqual([adu(READ_RESPONSE)]);
    expect(framer.pending).toBe(0);
    expect(framer.counters.total()).toBe(0);
  });

  it('delivers an ADU fed byte by byte at line speed, at its last byte', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    const seen: ReturnType<typeof summary>[] = [];
    TUNNEL.forEach((byte, i) => {
      seen.push(summary(framer.push(Uint8Array.of(byte), (i + 1) * timing.charTimeUs)));
    });
    expect(seen.slice(0, -1).flat()).toEqual([]);
    expect(seen.at(-1)).toEqual([adu(TUNNEL)]);
  });

  it('delivers back-to-back ADUs across arbitrary chunk boundaries', () => {
    const stream = cat(READ_RESPONSE, POLL, TUNNEL, withCrc('11 83 02'));
    const expected = [READ_RESPONSE, POLL, TUNNEL, withCrc('11 83 02')].map(adu);
    for (let cut1 = 0; cut1 <= stream.length; cut1++) {
      for (let cut2 = cut1; cut2 <= stream.length; cut2 += 3) {
        const framer = new RtuFramer({ role: 'master', timing });
        const out = [
          ...framer.push(stream.subarray(0, cut1), 0),
          ...framer.push(stream.subarray(cut1, cut2), 1),
          ...framer.push(stream.subarray(cut2), 2),
        ];
        expect(summary(out)).toEqual(expected);
      }
    }
  });

  it('skips garbage before an ADU, reporting it once', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    const out = framer.push(cat(fromHex('ff 00 fe 11 05'), POLL), 0);
    expect(summary(out)).toEqual(['reserved_address', adu(POLL)]);
    expect(framer.counters.get('skipped_bytes')).toBe(5);
    expect(framer.counters.get('reserved_address')).toBe(1);
    expect(framer.counters.get('broadcast_response')).toBe(0);
  });

  it('resynchronises after a corrupted ADU, on the next one', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    const corrupted = withCrc('11 10 00 01 00 02');
    corrupted[3]! ^= 0x01;
    expect(summary(framer.push(cat(corrupted, TUNNEL), 0))).toEqual(['bad_crc', adu(TUNNEL)]);
    expect(framer.counters.get('bad_crc')).toBe(1);
    expect(framer.counters.get('skipped_bytes')).toBe(corrupted.length);
  });

  it('resynchronises at the next silence when a corrupted ADU holds what looks like a long header', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    const corrupted = READ_RESPONSE.slice();
    corrupted[5]! ^= 0x01;
    // From byte 3 on, "ae 41 57" reads as a tunnel response of 87 bytes from address 174.
    expect(summary(framer.push(cat(corrupted, TUNNEL), 0))).toEqual(['bad_crc']);
    expect(summary(framer.push(new Uint8Array(0), 20_000))).toEqual(['incomplete', adu(TUNNEL)]);
    expect(framer.counters.snapshot()).toEqual({
      bad_crc: 1,
      incomplete: 1,
      skipped_bytes: corrupted.length,
    });
  });

  it('waits behind garbage that looks like a long header, and the silence rule frees the ADU', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    // 11 03 06 announces an 11-byte response; only 8 bytes follow.
    expect(summary(framer.push(cat(fromHex('11 03 06'), POLL), 0))).toEqual([]);
    expect(framer.pending).toBe(8);
    expect(summary(framer.push(new Uint8Array(0), 3000))).toEqual([]);
    expect(summary(framer.push(new Uint8Array(0), 4011))).toEqual(['incomplete', adu(POLL)]);
    expect(framer.counters.snapshot()).toEqual({ incomplete: 1, skipped_bytes: 3 });
  });

  it('discards an ADU cut short by a gap of t3.5 and frames the next one', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    expect(framer.push(TUNNEL.subarray(0, 4), 0)).toEqual([]);
    const later = 4 * timing.charTimeUs + timing.t35Us + 1;
    expect(summary(framer.push(READ_RESPONSE, later + READ_RESPONSE.length * timing.charTimeUs))).toEqual([
      'incomplete',
      adu(READ_RESPONSE),
    ]);
    expect(framer.counters.snapshot()).toEqual({ incomplete: 1, skipped_bytes: 4 });
  });

  it('keeps an ADU whose bytes arrive with gaps shorter than t3.5', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    expect(framer.push(TUNNEL.subarray(0, 4), 0)).toEqual([]);
    const gap = timing.t35Us - 10;
    const rest = TUNNEL.subarray(4);
    expect(summary(framer.push(rest, gap + rest.length * timing.charTimeUs))).toEqual([adu(TUNNEL)]);
    expect(framer.counters.total()).toBe(0);
  });

  it('measures silence with silenceUs when given (USB adapter latency)', () => {
    const framer = new RtuFramer({ role: 'master', timing, silenceUs: 20_000 });
    expect(framer.push(TUNNEL.subarray(0, 4), 0)).toEqual([]);
    expect(summary(framer.push(TUNNEL.subarray(4), 16_000))).toEqual([adu(TUNNEL)]);
    expect(framer.push(TUNNEL.subarray(0, 4), 20_000)).toEqual([]);
    expect(summary(framer.push(new Uint8Array(0), 40_000))).toEqual(['incomplete']);
  });

  it('as master, skips requests (which are not responses)', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    const out = framer.push(cat(READ_REQUEST, READ_RESPONSE), 0);
    expect(summary(out).at(-1)).toEqual(adu(READ_RESPONSE));
    expect(summary(out).filter((r) => typeof r !== 'string')).toHaveLength(1);
  });

  it('as slave, follows requests and the other slaves’ responses on a multi-drop line', () => {
    const framer = new RtuFramer({ role: 'slave', timing });
    const write = withCrc('11 10 00 01 00 02 04 00 0a 01 02');
    const writeAck = withCrc('11 10 00 01 00 02');
    const stream = cat(READ_REQUEST, READ_RESPONSE, POLL, TUNNEL, write, writeAck, withCrc('12 83 02'));
    expect(summary(framer.push(stream, 0))).toEqual(
      [READ_REQUEST, READ_RESPONSE, POLL, TUNNEL, write, writeAck, withCrc('12 83 02')].map(adu),
    );
    expect(framer.counters.total()).toBe(0);
  });

  it('reset() drops a partial ADU and counts it', () => {
    const framer = new RtuFramer({ role: 'slave', timing });
    framer.push(READ_REQUEST.subarray(0, 5), 0);
    framer.reset();
    expect(framer.pending).toBe(0);
    expect(framer.counters.snapshot()).toEqual({ incomplete: 1, skipped_bytes: 5 });
    expect(summary(framer.push(READ_REQUEST, 1))).toEqual([adu(READ_REQUEST)]);
  });

  it('never holds more than one ADU of bytes', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    framer.push(fromHex('11 41 fb'), 0);
    framer.push(new Uint8Array(252), 1);
    expect(framer.pending).toBeLessThan(256);
  });

  it('hands out ADUs that do not alias the pushed Buffers, which a serial port may reuse', () => {
    const framer = new RtuFramer({ role: 'master', timing });
    const head = Buffer.from(TUNNEL.subarray(0, 5));
    const tail = Buffer.from(TUNNEL.subarray(5));
    expect(framer.push(head, 0)).toEqual([]);
    head.fill(0);
    const [first] = framer.push(tail, 1);
    tail.fill(0);
    expect(first?.ok && Array.from(first.value.data)).toEqual([6, 0xa5, 0x5a, 1, 2, 3, 4]);
  });
});

describe('single-bit repair of tunnel ADUs (docs/protocol.md §8.3)', () => {
  const tunnelAdu = (): Uint8Array => {
    const frame = encodeFrame({ dst: 0x30, src: 0, seq: 9 }, { type: 'ping', body: { nonce: 77 } });
    const head = Uint8Array.of(0x07, 0x41, frame.length, ...frame);
    const crc = crc16Modbus(head);
    return Uint8Array.of(...head, crc & 0xff, crc >>> 8);
  };

  it('repairs one flipped bit inside the mcubus frame: CRC-32C locates it, CRC-16 confirms it', () => {
    const good = tunnelAdu();
    for (let byte = 3; byte < good.length - 2; byte++) {
      if (byte === 3 + 4) continue; // the frame's TTL byte is outside its CRC-32C
      const bad = good.slice();
      bad[byte]! ^= 0x10;
      const framer = new RtuFramer({ role: 'slave', timing });
      expect(summary(framer.push(bad, 0))).toEqual([adu(good)]);
      expect(framer.counters.get('repaired_bit')).toBe(1);
    }
  });

  it('does not repair a flip outside the frame, two flips, or any other function', () => {
    const framer = new RtuFramer({ role: 'slave', timing });
    const crcByte = tunnelAdu();
    crcByte[crcByte.length - 1]! ^= 0x01;
    const twoFlips = tunnelAdu();
    twoFlips[10]! ^= 0x01;
    twoFlips[12]! ^= 0x04;
    const write = withCrc('11 10 00 01 00 02 04 00 0a 01 02');
    write[8]! ^= 0x01;
    for (const bad of [crcByte, twoFlips, write]) {
      expect(summary(framer.push(bad, 0))[0]).toBe('bad_crc');
      framer.push(new Uint8Array(0), 1e6); // silence between the cases
    }
    expect(framer.counters.get('repaired_bit')).toBe(0);
  });
});
