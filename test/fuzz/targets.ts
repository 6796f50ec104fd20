import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import {
  candump,
  decodeCbor,
  decodeFrame,
  decodeManifest,
  decodeMessageBody,
  decodePci,
  ed25519KeyPairFromSeed,
  FrameStreamDecoder,
  IsoTpNode,
  modbus,
  slcan,
  verifySignedManifest,
} from '@mcubus/protocol';
import { ApiError, readJsonBody } from '../../host/src/api/http-util.js';
import { PcapngBlockSplitter, parsePcapng } from '../../host/src/capture/pcapng-reader.js';
import { parseConfig } from '../../host/src/config/parse.js';
import { ImageFileError, parseIntelHex } from '../../host/src/update/image-files.js';
import { McubootError, parseMcuboot, verifyMcubootEd25519 } from '../../host/src/update/mcuboot.js';
import * as seeds from './seeds.js';

/**
 * One fuzz target per parser that reads outside input. `run` feeds one input and returns the outcome
 * codes it saw ('ok' for accepted input, else the typed error's code; typed exceptions as
 * `Class:code`). An untyped throw escapes `run` and is the crash the fuzzer looks for; a code outside
 * `codes` means a new, undocumented kind of rejection and fails too.
 */
export interface FuzzTarget {
  readonly name: string;
  readonly seeds: () => Uint8Array[];
  /** Longest purely random input; big enough to reach the parser's length limits. */
  readonly maxRandom?: number;
  /** Much slower per input than the rest (the YAML parser): the CI run gives it a fifth of the inputs. */
  readonly slow?: boolean;
  readonly codes: ReadonlySet<string>;
  readonly run: (input: Uint8Array) => string[] | Promise<string[]>;
}

const utf8 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
const set = (...c: string[]) => new Set(['ok', ...c]);
const outcome = (r: { ok: true } | { ok: false; error: { code: string } }) => (r.ok ? 'ok' : r.error.code);

const FRAME_CODES = ['truncated', 'oversize', 'unknown_version', 'bad_crc', 'bad_cbor', 'schema'];
const CBOR_CODES = [
  'truncated',
  'trailing_bytes',
  'unsupported_item',
  'invalid_utf8',
  'too_deep',
  'bad_map_key',
  'duplicate_key',
];
const MODBUS_CODES = [
  'truncated',
  'oversize',
  'bad_crc',
  'reserved_address',
  'broadcast_response',
  'unknown_function',
  'bad_quantity',
  'bad_byte_count',
  'bad_length',
  'bad_exception_code',
  'bad_value',
  'incomplete',
];
const ISOTP_CODES = [
  ...['invalid_pci', 'invalid_length', 'reserved_flow_status', 'invalid_dlc'],
  ...['standard_id', 'invalid_id', 'foreign_id'],
  ...['not_for_us', 'fd_disabled', 'functional_not_single', 'unexpected_cf', 'unexpected_fc'],
  ...['wrong_sn', 'timeout_cr', 'interrupted', 'message_too_large', 'timeout_bs', 'overflow', 'wait_limit'],
  ...['too_large_for_functional', 'empty_payload', 'invalid_address', 'invalid_priority'],
];

/** A fixed key: the manifest and MCUboot targets check signatures too (they must fail, not throw). */
const key = ed25519KeyPairFromSeed(new Uint8Array(32).fill(7)).publicKey;

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'stream',
    seeds: seeds.streamSeeds,
    maxRandom: 600,
    codes: set('frame', 'cobs_zero', 'cobs_overrun', ...FRAME_CODES),
    run(input) {
      // Small frame limit so that random input reaches the oversize path; split in two chunks to
      // exercise reassembly across pushes.
      const d = new FrameStreamDecoder(256);
      const cut = input.length === 0 ? 0 : input[0]! % input.length;
      const events = [...d.push(input.subarray(0, cut)), ...d.push(input.subarray(cut))];
      return events.map((e) => (e.kind === 'frame' ? 'frame' : e.error.code));
    },
  },
  {
    name: 'frame',
    seeds: seeds.frameSeeds,
    codes: set(...FRAME_CODES),
    run: (input) => [outcome(decodeFrame(input))],
  },
  {
    name: 'cbor',
    seeds: seeds.cborSeeds,
    codes: set(...CBOR_CODES, 'schema', 'bad_cbor'),
    run(input) {
      // The raw decoder, then the typed message layer on top of it for one type code per input.
      const typeCode = input.length > 0 ? input[input.length - 1]! : 1;
      return [outcome(decodeCbor(input)), outcome(decodeMessageBody(typeCode, input))];
    },
  },
  {
    name: 'isotp',
    seeds: seeds.isotpSeeds,
    codes: set(...ISOTP_CODES),
    run(input) {
      const out: string[] = [];
      const nodes = [0, 1].map((address) => new IsoTpNode({ address, fd: true, frameSize: 64 }));
      let now = 0;
      for (let at = 0; at + 6 <= input.length; ) {
        const id =
          ((input[at]! << 24) | (input[at + 1]! << 16) | (input[at + 2]! << 8) | input[at + 3]!) >>> 0;
        // Flags byte: bit 0 FD, bit 1 a standard (11-bit) id, which the node must ignore.
        const flags = input[at + 4]!;
        const fd = (flags & 1) === 1;
        const data = input.subarray(at + 6, at + 6 + Math.min(input[at + 5]!, 64));
        at += 6 + data.length;
        out.push(outcome(decodePci(data, fd)));
        const frame = { id: id & 0x1fffffff, extended: (flags & 2) === 0, fd, data };
        now += 1000 * (flags >> 2);
        for (const n of nodes) {
          n.handle({ type: 'frame', frame }, now);
          // A tick far ahead fires whatever timeout the frame started.
          n.handle({ type: 'tick' }, now + 5_000_000);
        }
      }
      for (const n of nodes) out.push(...Object.keys(n.counters.snapshot()));
      return out;
    },
  },
  {
    name: 'modbus',
    seeds: seeds.modbusSeeds,
    codes: set(...MODBUS_CODES, 'adu', 'skipped_bytes', 'repaired_bit'),
    run(input) {
      const out = [outcome(modbus.decodeAdu(input))];
      out.push(outcome(modbus.decodeRequest(input)), outcome(modbus.decodeResponse(input)));
      // The framer on both sides, bytes arriving in three bursts with a gap that may end an ADU.
      for (const role of ['master', 'slave'] as const) {
        const f = new modbus.RtuFramer({ role, timing: modbus.rtuTiming(19200) });
        const a = Math.floor(input.length / 3);
        const gap = input.length > 0 ? input[0]! * 20 : 0;
        const results = [
          ...f.push(input.subarray(0, a), 1_000),
          ...f.push(input.subarray(a, 2 * a), 1_000 + gap),
          ...f.push(input.subarray(2 * a), 2_000 + gap),
        ];
        out.push(...results.map((r) => (r.ok ? 'adu' : r.error.code)), ...Object.keys(f.counters.snapshot()));
      }
      return out;
    },
  },
  {
    name: 'slcan',
    seeds: seeds.slcanSeeds,
    codes: set('frame', 'ack', 'nack', 'bad_line', 'bad_hex', 'bad_length', 'line_too_long'),
    run(input) {
      const d = new slcan.SlcanDecoder();
      return d.push(input).map((e) => (e.kind === 'error' ? e.code : e.kind));
    },
  },
  {
    name: 'candump',
    seeds: seeds.candumpSeeds,
    codes: set('bad_line', 'bad_time', 'bad_id', 'bad_data', 'error_frame'),
    run(input) {
      const r = candump.parseCandumpLog(utf8(input));
      return [...r.records.map(() => 'ok'), ...r.errors.map((e) => e.error.code)];
    },
  },
  {
    name: 'config',
    slow: true,
    seeds: seeds.configSeeds,
    codes: set(
      'syntax',
      'type',
      'range',
      'value',
      'unknown_key',
      'missing',
      'duplicate',
      'reference',
      'conflict',
    ),
    run(input) {
      const r = parseConfig(utf8(input), 'fuzz.yaml');
      return r.ok ? ['ok'] : r.error.map((e) => e.code);
    },
  },
  {
    name: 'api-json',
    seeds: seeds.jsonBodySeeds,
    maxRandom: 600,
    codes: set('ApiError:bad_json', 'ApiError:body_too_large'),
    async run(input) {
      // A small limit so that fuzz inputs reach the 413 path as well as the JSON parser.
      const req = Readable.from([Buffer.from(input)]) as unknown as IncomingMessage;
      try {
        await readJsonBody(req, 256);
        return ['ok'];
      } catch (e) {
        if (e instanceof ApiError) return [`ApiError:${e.code}`];
        throw e;
      }
    },
  },
  {
    name: 'intel-hex',
    seeds: seeds.intelHexSeeds,
    codes: set('ImageFileError:bad_hex', 'ImageFileError:empty'),
    run(input) {
      try {
        parseIntelHex(utf8(input));
        return ['ok'];
      } catch (e) {
        if (e instanceof ImageFileError) return [`ImageFileError:${e.code}`];
        throw e;
      }
    },
  },
  {
    name: 'manifest',
    seeds: seeds.manifestSeeds,
    codes: set('bad_cbor', 'schema', 'unknown_key', 'bad_signature'),
    run: (input) => [outcome(verifySignedManifest(input, [key])), outcome(decodeManifest(input))],
  },
  {
    name: 'mcuboot',
    seeds: seeds.mcubootSeeds,
    codes: set('McubootError', 'verified', 'unverified'),
    run(input) {
      try {
        const image = parseMcuboot(input);
        return ['ok', verifyMcubootEd25519(image, key) ? 'verified' : 'unverified'];
      } catch (e) {
        if (e instanceof McubootError) return ['McubootError'];
        throw e;
      }
    },
  },
  {
    name: 'pcapng',
    seeds: seeds.pcapngSeeds,
    maxRandom: 400,
    codes: set('bad_block_length', 'not_pcapng', 'big_endian', 'bad_block', 'blocks'),
    run(input) {
      const s = new PcapngBlockSplitter(4096);
      const cut = input.length >> 1;
      const a = s.push(input.subarray(0, cut));
      const b = s.push(input.subarray(cut));
      return [outcome(parsePcapng(input)), outcome(a), outcome(b), ...Object.keys(s.counters.snapshot())];
    },
  },
];

export function targetNamed(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target "${name}" (have: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}
