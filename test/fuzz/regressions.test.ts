import { describe, expect, it } from 'vitest';
import { enhancedPacketBlock } from '../../host/src/capture/pcapng.js';
import { parsePcapng } from '../../host/src/capture/pcapng-reader.js';
import { parseConfig } from '../../host/src/config/parse.js';
import { pcapngSeeds } from './seeds.js';

/** Inputs the parser fuzzer found that threw untyped errors; each is now a typed rejection. */
describe('fuzz regressions', () => {
  it('config: an alias with no anchor is a syntax error, not a ReferenceError', () => {
    const r = parseConfig('stateDir: */.mcubus\n', 'fuzz.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.map((e) => e.code)).toEqual(['syntax']);
  });

  it('config: an alias expansion bomb is a syntax error', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    const r = parseConfig(`${lines.join('\n')}\n`, 'fuzz.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(new Set(r.error.map((e) => e.code))).toEqual(new Set(['syntax']));
  });

  it('pcapng: an EPB claiming 2^32-1 captured bytes is bad_block, not a RangeError', () => {
    const capture = pcapngSeeds()[0]!;
    const epb = enhancedPacketBlock({ interfaceId: 0, timestampUs: 1, data: Uint8Array.of(1, 2, 3, 4) });
    new DataView(epb.buffer, epb.byteOffset).setUint32(20, 0xffff_ffff, true);
    const bytes = new Uint8Array(capture.length + epb.length);
    bytes.set(capture, 0);
    bytes.set(epb, capture.length);
    const r = parsePcapng(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('bad_block');
  });
});
