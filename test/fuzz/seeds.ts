import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ed25519KeyPairFromSeed, encodeManifest, signManifest } from '@mcubus/protocol';
import {
  concatBlocks,
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  LINKTYPE_CAN_SOCKETCAN,
  LINKTYPE_USER0,
  sectionHeaderBlock,
} from '../../host/src/capture/pcapng.js';
import { EMBEDDED_DEFAULT_YAML } from '../../host/src/config/default.js';
import { MCUBOOT_MAGIC, TLV } from '../../host/src/update/mcuboot.js';

/**
 * Golden seeds per parser: the vectors in protocol/vectors/ where they exist, otherwise valid inputs
 * built with the project's own encoders (so a mutation starts from something each parser accepts).
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const text = (s: string) => new TextEncoder().encode(s);

// biome-ignore lint/suspicious/noExplicitAny: vector files are plain JSON, read loosely here.
function vectors(name: string): any {
  return JSON.parse(readFileSync(join(root, 'protocol', 'vectors', `${name}.json`), 'utf8'));
}

/** Frames: good and bad vectors (whole frames, header to CRC). */
export function frameSeeds(): Uint8Array[] {
  const v = vectors('frame');
  return [...v.vectors, ...(v.errors ?? [])].filter((x) => typeof x.hex === 'string').map((x) => hex(x.hex));
}

/** CBOR bodies: the body of every good frame vector (header is 8 bytes, CRC 4). */
export function cborSeeds(): Uint8Array[] {
  return frameSeeds()
    .filter((f) => f.length > 12)
    .map((f) => f.subarray(8, f.length - 4));
}

/** UART byte streams: COBS vectors with their delimiter, stream vectors, and frames as sent. */
export function streamSeeds(): Uint8Array[] {
  const v = vectors('cobs');
  const out: Uint8Array[] = v.vectors.map((x: { encodedHex: string }) =>
    Uint8Array.from([...hex(x.encodedHex), 0]),
  );
  for (const s of v.streams ?? []) if (typeof s.streamHex === 'string') out.push(hex(s.streamHex));
  for (const e of v.errors ?? []) if (typeof e.encodedHex === 'string') out.push(hex(e.encodedHex));
  return out;
}

export function modbusSeeds(): Uint8Array[] {
  return vectors('modbus').vectors.map((x: { hex: string }) => hex(x.hex));
}

/**
 * ISO-TP exchanges as a flat record list, [id (4 bytes BE)][fd (1)][length (1)][data], one record per
 * CAN frame of each golden vector; targets.ts reads inputs back the same way.
 */
export function isotpSeeds(): Uint8Array[] {
  return vectors('isotp').vectors.map((x: { frames: { id: string; fd: boolean; dataHex: string }[] }) => {
    const parts: number[] = [];
    for (const f of x.frames) {
      const id = Number.parseInt(f.id, 16);
      const data = hex(f.dataHex);
      parts.push((id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff);
      parts.push(f.fd ? 1 : 0, data.length, ...data);
    }
    return Uint8Array.from(parts);
  });
}

export function slcanSeeds(): Uint8Array[] {
  return [
    't1238112233445566778\r',
    'T1ABCDEF08DEADBEEF01020304\r',
    'd12390102030405060708090a0b0c\r',
    'z\r',
    '\x07',
    'O\r',
  ].map(text);
}

export function candumpSeeds(): Uint8Array[] {
  return [
    '(1700000000.123456) can0 18DA0110#0211223344556677 R',
    '(1700000000.000001) vcan0 123#R',
    '(0.5) can1 7FF#',
    '(1700000000.200000) can0 12345678##1001122334455667788990011223344556677889900112233445566778899001122',
    'can0  123   [4]  DE AD BE EF',
  ].map(text);
}

export function configSeeds(): Uint8Array[] {
  const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).slice(0, 12);
  return [EMBEDDED_DEFAULT_YAML, ...blocks].map(text);
}

export function jsonBodySeeds(): Uint8Array[] {
  return [
    '{"timeoutMs": 500}',
    '{"type":"get_health","body":{}}',
    '{"image":"/tmp/a.bin","manifest":"/tmp/a.manifest","windowSize":8}',
    '[1,2,{"a":null}]',
    '"\\u00e9\\ud83d\\ude00"',
    '',
  ].map(text);
}

export function intelHexSeeds(): Uint8Array[] {
  return [
    ':10010000214601360121470136007EFE09D2190140\n:100110002146017E17C20001FF5F16002148011928\n:00000001FF\n',
    ':020000040800F2\n:0400000001020304F2\n:00000001FF\n',
    ':02000002100000EC\n:0100000055AA\n:00000001FF\n',
  ].map(text);
}

/** A signed manifest envelope (and the bare manifest inside it) made with a fixed test key. */
export function manifestSeeds(): Uint8Array[] {
  const { privateKey } = ed25519KeyPairFromSeed(new Uint8Array(32).fill(7));
  const image = new Uint8Array(64).fill(0xa5);
  const manifest = {
    hardwareId: 'fuzz-board',
    kind: 0 as const,
    version: [1, 2, 3],
    securityCounter: 1,
    sha256: new Uint8Array(createHash('sha256').update(image).digest()),
    size: image.length,
    loadAddress: 0x0800_0000,
  };
  const envelope = signManifest(manifest, privateKey);
  return [envelope, encodeManifest(manifest)];
}

/** An MCUboot image laid out as imgtool does (header, body, unprotected TLVs), and one with protected TLVs. */
export function mcubootSeeds(): Uint8Array[] {
  const make = (protectedTlvs: boolean) => {
    const header = Buffer.alloc(32);
    const body = Buffer.alloc(48, 0x5a);
    const prot = protectedTlvs ? Buffer.from([0x08, 0x69, 8, 0, 0x50, 0, 0, 0]) : Buffer.alloc(0);
    header.writeUInt32LE(MCUBOOT_MAGIC, 0);
    header.writeUInt16LE(32, 8);
    header.writeUInt16LE(prot.length, 10);
    header.writeUInt32LE(body.length, 12);
    header.writeUInt8(1, 20);
    const hash = createHash('sha256')
      .update(Buffer.concat([header, body, prot]))
      .digest();
    const tlv = Buffer.concat([Buffer.from([TLV.sha256, 0, 32, 0]), hash]);
    const info = Buffer.from([0x07, 0x69, (tlv.length + 4) & 0xff, 0]);
    return new Uint8Array(Buffer.concat([header, body, prot, info, tlv]));
  };
  return [make(false), make(true)];
}

export function pcapngSeeds(): Uint8Array[] {
  return [
    concatBlocks([
      sectionHeaderBlock({ userAppl: 'fuzz' }),
      interfaceDescriptionBlock({ linkType: LINKTYPE_USER0, name: 'uart0' }),
      interfaceDescriptionBlock({ linkType: LINKTYPE_CAN_SOCKETCAN, name: 'can0', description: 'CAN' }),
      enhancedPacketBlock({
        interfaceId: 0,
        timestampUs: 1_000_000,
        data: hex('0108002108010001'),
        direction: 'in',
      }),
      enhancedPacketBlock({
        interfaceId: 1,
        timestampUs: 2_000_001,
        data: hex('98da01100000000802112233'),
        comment: 'c',
      }),
    ]),
  ];
}
