// Regenerates the golden vectors of the frame, message, COBS and CBOR codecs from the examples below.
// The files are committed: a change in them is a wire-format change and must be reviewed as one.
// Usage: npx tsx scripts/gen-vectors.ts
import { writeFileSync } from 'node:fs';
import {
  cobsEncode,
  decodeCbor,
  decodeFrame,
  diagnostic,
  encodeCbor,
  encodeFrame,
  encodeRawFrame,
  encodeStreamFrame,
  FrameStreamDecoder,
  MESSAGE_NAMES,
  MESSAGES,
  type Message,
} from '../protocol/src/index.js';
import { toJson } from '../protocol/test/support/json.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const sha = unhex('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');

/** One example of every message type, with every field that makes the layout clear. */
const examples: Message[] = [
  {
    type: 'hello',
    body: {
      uid: unhex('0123456789abcdef01234567'),
      hardwareId: 'mcubus-ref-gw',
      hardwareRev: 3,
      firmwareVersion: [1, 4, 2],
      bootloaderVersion: [0, 9, 0, 17],
      slots: [
        { index: 0, version: [1, 4, 2], flags: 0b1011, size: 65536, sha256: sha },
        { index: 1, version: [1, 4, 1], flags: 0b1000 },
      ],
      capabilities: 0b1111111,
      maxFrame: 1100,
      mode: 1,
      protocolVersions: [1],
      name: 'gateway',
      clock: { counterBits: 32, resolutionNs: 1000 },
      heartbeatPeriodMs: 1000,
      securityCounter: 4,
      uptimeMs: 81234,
    },
  },
  { type: 'identify', body: {} },
  {
    type: 'heartbeat',
    body: {
      uptimeMs: 3_600_000,
      mode: 1,
      health: 1,
      resetReason: 4,
      resetCount: 2,
      counters: new Map([
        [1, 3],
        [6, 1],
      ]),
      vendorStatus: new Map<number | string, number | string>([['temp_c', 41.5]]),
      periodMs: 1000,
      deviceTime: 4_294_967_000,
    },
  },
  { type: 'ping', body: { nonce: 0xdeadbeef } },
  { type: 'pong', body: { nonce: 0xdeadbeef } },
  { type: 'time_sync_req', body: { t1: 1_700_000_000_123_456 } },
  { type: 'time_sync_resp', body: { t1: 1_700_000_000_123_456, t2: 5_000_100, t3: 5_000_180 } },
  { type: 'time_sync_followup', body: { t1: 1_700_000_000_123_456, t3: 5_000_181 } },
  {
    type: 'time_map',
    body: { node: 0x21, at: 9_000_000, offsetUs: -12_345, skewPpb: 23_000, errorBoundUs: 18, samples: 32 },
  },
  {
    type: 'update_begin',
    body: { session: 7, kind: 0, size: 200_000, sha256: sha, chunkSize: 1024, manifest: unhex('a10101') },
  },
  {
    type: 'update_chunk',
    body: { session: 7, offset: 2048, data: Uint8Array.from({ length: 16 }, (_, i) => i) },
  },
  { type: 'update_ack', body: { session: 7, cumulative: 4096, sack: unhex('05'), window: 12 } },
  { type: 'update_verify', body: { session: 7 } },
  { type: 'update_activate', body: { session: 7, permanent: false } },
  { type: 'update_confirm', body: { slot: 1 } },
  { type: 'update_abort', body: { session: 7, reason: 12 } },
  { type: 'update_status_req', body: { sha256: sha } },
  {
    type: 'update_status',
    body: {
      session: 7,
      state: 1,
      kind: 0,
      sha256: sha,
      received: 4096,
      size: 200_000,
      maxChunk: 1024,
      window: 16,
      flashWriteUs: 2500,
    },
  },
  { type: 'reset', body: { target: 1, delayMs: 20 } },
  { type: 'log', body: { deviceTime: 123_456_789, level: 2, text: 'vbat low: 3.41 V', module: 'pwr' } },
  {
    type: 'telemetry',
    body: {
      samples: [
        { channel: 1, deviceTime: 1_000_000, value: 1234 },
        { channel: 2, deviceTime: 1_000_050, value: -0.25 },
      ],
    },
  },
  { type: 'topology_req', body: {} },
  {
    type: 'topology',
    body: {
      routes: [
        { node: 0x21, port: 0, hops: 1, state: 1, lastSeenMs: 120 },
        { node: 0x22, port: 0, hops: 1, state: 2, lastSeenMs: 4100 },
      ],
    },
  },
  { type: 'ok', body: {} },
  { type: 'error', body: { code: 5, message: 'no route to 0x30', requestType: 0x02, reporter: 0x10 } },
];

const missing = MESSAGE_NAMES.filter((n) => !examples.some((e) => e.type === n));
if (missing.length > 0) throw new Error(`no example for ${missing.join(', ')}`);

function diagnosticOf(body: Uint8Array): string {
  const r = decodeCbor(body);
  if (!r.ok) throw new Error(r.error.message);
  return diagnostic(r.value);
}

function headerJson(bytes: Uint8Array) {
  const r = decodeFrame(bytes);
  if (!r.ok) throw new Error(r.error.message);
  const { version, flags, ...rest } = { ...r.value.header, flags: bytes[1] };
  return { version, flags, ...rest };
}

const frameVectors: unknown[] = examples.map((m, i) => {
  const fields = {
    dst: m.type === 'hello' ? 0x00 : 0x21,
    src: m.type === 'hello' ? 0x21 : 0x00,
    seq: 0x100 + i,
  };
  const bytes = encodeFrame(fields, m);
  return {
    name: `message ${m.type} (0x${MESSAGES[m.type].code.toString(16).padStart(2, '0')})`,
    hex: hex(bytes),
    header: headerJson(bytes),
    message: m.type,
    body: toJson(m.body),
    bodyDiagnostic: diagnosticOf(bytes.subarray(8, bytes.length - 4)),
  };
});

function special(name: string, bytes: Uint8Array, extra: Record<string, unknown> = {}) {
  const r = decodeFrame(bytes);
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return {
    name,
    hex: hex(bytes),
    header: headerJson(bytes),
    message: r.value.message.type,
    body: toJson(r.value.message.type === 'unknown' ? r.value.message.body : r.value.message.body),
    ...extra,
  };
}

const heartbeatBody = { uptimeMs: 500, mode: 0, health: 0, resetReason: 1, resetCount: 0 };
frameVectors.push(
  special(
    'flags: response, retransmit, priority 0, ttl 1, broadcast destination',
    encodeFrame(
      { dst: 0xff, src: 0x21, seq: 0xffff, ttl: 1, response: true, retransmit: true, priority: 0 },
      { type: 'pong', body: { nonce: 1 } },
    ),
  ),
  special(
    'heartbeat from a bootloader (mode 0)',
    encodeFrame({ dst: 0, src: 0x22, seq: 0 }, { type: 'heartbeat', body: heartbeatBody }),
  ),
  special(
    'unknown message type 0xE0 is surfaced, not an error',
    encodeRawFrame({ dst: 0, src: 0x21, seq: 3, type: 0xe0 }, unhex('a10102')),
    {
      note: 'decoders report type 0xE0 as unknown and skip it',
    },
  ),
  special(
    'unknown key 40 in a heartbeat is reported and skipped',
    encodeRawFrame(
      { dst: 0, src: 0x21, seq: 4, type: 0x03 },
      unhex('a6011901f4020003000401050018286378797a'),
    ),
    { unknownKeys: ['heartbeat.40'] },
  ),
);

const good = encodeFrame({ dst: 0x21, src: 0, seq: 1 }, { type: 'ping', body: { nonce: 7 } });
const flip = (b: Uint8Array, i: number, x: number) => {
  const c = b.slice();
  c[i]! ^= x;
  return c;
};
const badFrames = [
  { name: 'shorter than 13 bytes', hex: hex(good.subarray(0, 12)), error: 'truncated' },
  { name: 'version 2', hex: hex(flip(good, 0, 3)), error: 'unknown_version' },
  { name: 'one bit flipped in the body', hex: hex(flip(good, 9, 0x10)), error: 'bad_crc' },
  { name: 'one bit flipped in the CRC', hex: hex(flip(good, good.length - 1, 0x80)), error: 'bad_crc' },
  { name: 'destination changed', hex: hex(flip(good, 2, 0x01)), error: 'bad_crc' },
  {
    name: 'larger than the receiver limit of 64 bytes',
    hex: hex(
      encodeFrame(
        { dst: 1, src: 0, seq: 1 },
        { type: 'log', body: { deviceTime: 0, level: 1, text: 'x'.repeat(60) } },
      ),
    ),
    maxFrame: 64,
    error: 'oversize',
  },
  {
    name: 'body is two CBOR items',
    hex: hex(encodeRawFrame({ dst: 1, src: 0, seq: 1, type: 0x04 }, unhex('a0a0'))),
    error: 'bad_cbor',
  },
  {
    name: 'body uses a CBOR tag',
    hex: hex(encodeRawFrame({ dst: 1, src: 0, seq: 1, type: 0x04 }, unhex('c1a0'))),
    error: 'bad_cbor',
  },
  {
    name: 'body is an indefinite-length map',
    hex: hex(encodeRawFrame({ dst: 1, src: 0, seq: 1, type: 0x04 }, unhex('bfff'))),
    error: 'bad_cbor',
  },
  {
    name: 'body is not a map',
    hex: hex(encodeRawFrame({ dst: 1, src: 0, seq: 1, type: 0x04 }, unhex('80'))),
    error: 'schema',
  },
  {
    name: 'required field missing (heartbeat without mode)',
    hex: hex(encodeRawFrame({ dst: 0, src: 1, seq: 1, type: 0x03 }, unhex('a1011901f4'))),
    error: 'schema',
  },
  {
    name: 'field of the wrong type (ping nonce as text)',
    hex: hex(encodeRawFrame({ dst: 1, src: 0, seq: 1, type: 0x04 }, unhex('a1016131'))),
    error: 'schema',
  },
  {
    name: 'sha256 of 31 bytes',
    hex: hex(
      encodeRawFrame({ dst: 1, src: 0, seq: 1, type: 0x17 }, encodeCbor(new Map([[1, sha.subarray(1)]]))),
    ),
    error: 'schema',
  },
];
for (const v of badFrames) {
  const r = decodeFrame(unhex(v.hex), (v as { maxFrame?: number }).maxFrame);
  if (r.ok || r.error.code !== v.error)
    throw new Error(`bad vector ${v.name} gives ${r.ok ? 'ok' : r.error.code}`);
}

writeFileSync(
  'protocol/vectors/frame.json',
  `${JSON.stringify(
    {
      suite: 'frame',
      description:
        'mcubus v1 frames: 8-byte header, CBOR body, CRC-32C. Good vectors decode to header/message/body and re-encode to the same bytes; bad vectors must fail with the given error code.',
      crc32c: [{ ascii: '123456789', crc: '0xe3069283' }],
      vectors: frameVectors,
      errors: badFrames,
    },
    null,
    2,
  )}\n`,
);

// COBS and the UART stream form.
const seq = (from: number, n: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const cobsCases: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one zero', unhex('00')],
  ['two zeros', unhex('0000')],
  ['zero inside', unhex('11220033')],
  ['no zero', unhex('11223344')],
  ['trailing zeros', unhex('11000000')],
  ['254 non-zero bytes (one full block, no extra code byte)', seq(1, 254)],
  ['255 non-zero bytes', seq(1, 255)],
  ['254 non-zero bytes then a zero', new Uint8Array([...seq(1, 254), 0])],
  ['a zero then 254 non-zero bytes', new Uint8Array([0, ...seq(1, 254)])],
  ['300 bytes counting up (zeros at 0 and 256)', seq(0, 300)],
];
const streamGood = encodeStreamFrame(good);

/** What a stream decoder must report for each stream: 'frame <hex>' or the error code. */
function withExpectations(streams: { name: string; maxFrame: number; streamHex: string }[]) {
  return streams.map((s) => {
    const d = new FrameStreamDecoder(s.maxFrame);
    const expect = d
      .push(unhex(s.streamHex))
      .map((e) => (e.kind === 'frame' ? `frame ${hex(e.bytes)}` : e.error.code));
    return { ...s, expect };
  });
}
writeFileSync(
  'protocol/vectors/cobs.json',
  `${JSON.stringify(
    {
      suite: 'cobs',
      description:
        'COBS with 0x00 delimiter. "decodedHex" encodes to "encodedHex" (without the delimiter) and back. Stream vectors feed "streamHex" to a stream decoder and list what must come out, in order.',
      vectors: cobsCases.map(([name, data]) => ({
        name,
        decodedHex: hex(data),
        encodedHex: hex(cobsEncode(data)),
      })),
      errors: [
        { name: 'code byte runs past the end', encodedHex: '05112233', error: 'cobs_overrun' },
        { name: 'zero inside a frame', encodedHex: '031100', error: 'cobs_zero' },
      ],
      streams: withExpectations([
        {
          name: 'garbage without a zero merges with the next frame; the one after decodes',
          maxFrame: 4096,
          streamHex: `13377aff${hex(streamGood)}${hex(streamGood)}`,
        },
        {
          name: 'a leading delimiter protects the frame from earlier garbage; empty pieces are skipped',
          maxFrame: 4096,
          streamHex: `13377aff0000${hex(streamGood)}`,
        },
        {
          name: 'oversize piece dropped up to the next delimiter',
          maxFrame: 16,
          streamHex: `${hex(cobsEncode(seq(1, 40)))}00${hex(streamGood)}`,
        },
        {
          name: 'a corrupted byte spoils only its own frame',
          maxFrame: 4096,
          streamHex: `${hex(flip(streamGood, 4, 0x01))}${hex(streamGood)}`,
        },
      ]),
    },
    null,
    2,
  )}\n`,
);
console.log(
  `wrote protocol/vectors/frame.json (${frameVectors.length} good, ${badFrames.length} bad) and cobs.json`,
);
