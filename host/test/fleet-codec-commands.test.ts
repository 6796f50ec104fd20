import { generateKeyPairSync } from 'node:crypto';
import { encodeManifest, type Manifest, sha256Digest, signManifest } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { type CommandError, parseDeviceCommand, parseNodeCommand } from '../src/fleet/commands.js';
import { checkDownloadedImage, verifyManifest } from '../src/fleet/image-fetch.js';
import type { Metric } from '../src/fleet/metric.js';
import { decodePayload, encodePayload } from '../src/fleet/payload-codec.js';

describe('Sparkplug B payload codec', () => {
  it('round-trips every data type, negatives and nulls', () => {
    const metrics: Metric[] = [
      { name: 'bdSeq', type: 'UInt64', value: 255 },
      { name: 'i32', type: 'Int32', value: -5 },
      { name: 'u32', type: 'UInt32', value: 4_000_000_000 },
      { name: 'i64', type: 'Int64', value: -1_234_567_890_123 },
      { name: 'when', type: 'DateTime', value: 1_700_000_000_123 },
      { name: 'f', type: 'Float', value: 0.5 },
      { name: 'd', type: 'Double', value: -12.625 },
      { name: 'b', type: 'Boolean', value: false },
      { name: 's', type: 'String', value: 'ünïcode' },
      { name: 'none', type: 'Double', value: null },
    ];
    const bytes = encodePayload({ timestamp: 1_700_000_000_000, seq: 7, metrics });
    expect(decodePayload(bytes)).toEqual({ timestamp: 1_700_000_000_000, seq: 7, metrics });
  });

  it('writes the spec field numbers (checked on the raw bytes)', () => {
    const bytes = encodePayload({
      timestamp: 1,
      seq: 2,
      metrics: [{ name: 'A', type: 'Boolean', value: true }],
    });
    // timestamp=1 (field 1 varint), metrics (field 2, length 7): name "A" (1), datatype 11 (4),
    // boolean_value true (14), then seq=2 (field 3 varint).
    expect(Buffer.from(bytes).toString('hex')).toBe('0801' + '1207' + '0a0141' + '200b' + '7001' + '1802');
  });

  it('says what is wrong with bytes that are not a payload', () => {
    expect(() => decodePayload(new Uint8Array([0x0a, 0xff]))).toThrow(/not a Sparkplug B payload/);
  });
});

describe('fleet commands', () => {
  const s = (name: string, value: Metric['value'], type: Metric['type'] = 'String'): Metric => ({
    name,
    type,
    value,
  });

  it('parses rebirth and updates, the manifest defaulting to IMAGE.manifest', () => {
    expect(parseNodeCommand([s('Node Control/Rebirth', true, 'Boolean')])).toEqual({ kind: 'rebirth' });
    expect(parseNodeCommand([s('Node Control/Update', 'http://h/fw.bin')])).toEqual({
      kind: 'update',
      target: 'all',
      imageUrl: 'http://h/fw.bin',
      manifestUrl: 'http://h/fw.bin.manifest',
    });
    expect(
      parseDeviceCommand('mcu-0x21', [
        s('Device Control/Update', 'https://h/a.bin'),
        s('Device Control/Update Manifest', 'https://h/m'),
      ]),
    ).toEqual({
      kind: 'update',
      target: 'mcu-0x21',
      imageUrl: 'https://h/a.bin',
      manifestUrl: 'https://h/m',
    });
  });

  it('rejects bad commands with a reason code', () => {
    const reason = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as CommandError).reason;
      }
      return 'accepted';
    };
    expect(reason(() => parseDeviceCommand('d', [s('Device Control/Update', 'file:///etc/passwd')]))).toBe(
      'bad_url: Device Control/Update: only http and https URLs are fetched, not file:',
    );
    expect(reason(() => parseDeviceCommand('d', [s('Device Control/Update', 'not a url')]))).toBe(
      'bad_url: Device Control/Update: "not a url" is not a URL',
    );
    expect(reason(() => parseNodeCommand([s('Node Control/Rebirth', false, 'Boolean')]))).toBe(
      'bad_command: Node Control/Rebirth must be written true',
    );
    expect(reason(() => parseDeviceCommand('d', [s('Other', 1, 'Double')]))).toBe(
      'bad_command: no known command metric (got "Other"; expected "Device Control/Update")',
    );
  });
});

describe('verification of a fetched manifest and image', () => {
  const image = new Uint8Array(100).fill(7);
  const manifest: Manifest = {
    hardwareId: 'hw-a',
    kind: 0,
    version: [1, 2, 3],
    securityCounter: 0,
    sha256: sha256Digest(image),
    size: image.length,
  };
  const trusted = generateKeyPairSync('ed25519');
  const code = (f: () => unknown) => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return (e as CommandError).code;
    }
  };

  it('accepts a manifest signed with a trusted key, and the image it names', () => {
    const m = verifyManifest(signManifest(manifest, trusted.privateKey), [trusted.publicKey]);
    expect(m.hardwareId).toBe('hw-a');
    expect(code(() => checkDownloadedImage(m, image))).toBe('ok');
    expect(code(() => checkDownloadedImage(m, image.slice(1)))).toBe('image_mismatch');
    expect(code(() => checkDownloadedImage(m, new Uint8Array(100)))).toBe('image_mismatch');
  });

  it('rejects an unsigned manifest, a foreign key and a forged signature', () => {
    expect(code(() => verifyManifest(encodeManifest(manifest), [trusted.publicKey]))).toBe('not_signed');
    const foreign = generateKeyPairSync('ed25519');
    expect(code(() => verifyManifest(signManifest(manifest, foreign.privateKey), [trusted.publicKey]))).toBe(
      'untrusted_key',
    );
    // The signed bytes changed after signing: hw-a → hw-b inside the envelope.
    const forged = Buffer.from(signManifest(manifest, trusted.privateKey));
    const at = forged.indexOf('hw-a');
    forged[at + 3] = 'b'.charCodeAt(0);
    expect(code(() => verifyManifest(forged, [trusted.publicKey]))).toBe('bad_signature');
  });
});
