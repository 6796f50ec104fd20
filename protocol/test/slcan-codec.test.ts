import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CanFrame } from '../src/index.js';
import {
  decodeSlcanFrameLine,
  encodeSlcanFrame,
  SlcanDecoder,
  slcanBitrateCommand,
  slcanOpen,
} from '../src/slcan/codec.js';

const ascii = (b: Uint8Array) => new TextDecoder().decode(b);

describe('slcan (Lawicel) codec', () => {
  it('encodes commands and frames as the adapters expect', () => {
    expect(ascii(slcanOpen())).toBe('O\r');
    expect(ascii(slcanBitrateCommand(500_000)!)).toBe('S6\r');
    expect(slcanBitrateCommand(333_000)).toBeNull();
    expect(
      ascii(encodeSlcanFrame({ id: 0x123, extended: false, fd: false, data: Uint8Array.of(0xde, 0xad) })),
    ).toBe('t1232DEAD\r');
    expect(
      ascii(encodeSlcanFrame({ id: 0x18da2110, extended: true, fd: false, data: Uint8Array.of(1) })),
    ).toBe('T18DA2110101\r');
    const fd12 = encodeSlcanFrame({
      id: 0x18da2110,
      extended: true,
      fd: true,
      brs: true,
      data: new Uint8Array(12),
    });
    expect(ascii(fd12)).toBe(`B18DA21109${'00'.repeat(12)}\r`);
  });

  it('decodes frames, acks and errors from any chunking', () => {
    const d = new SlcanDecoder();
    const stream = new TextEncoder().encode('\rt1232DEAD\r\x07T18DA2110101\rz\rQ\rt12\r');
    const events = [...stream].flatMap((b) => d.push(Uint8Array.of(b)));
    expect(events.map((e) => e.kind)).toEqual(['ack', 'frame', 'nack', 'frame', 'ack', 'error', 'error']);
    expect(events[1]).toEqual({
      kind: 'frame',
      frame: { id: 0x123, extended: false, fd: false, data: Uint8Array.of(0xde, 0xad) },
    });
    expect(d.counters.snapshot()).toEqual({ bad_hex: 1, bad_line: 1, frames: 2 });
  });

  it('rejects lengths and ids out of range with a typed error', () => {
    expect(decodeSlcanFrameLine(`t1239${'00'.repeat(9)}`)).toMatchObject({
      kind: 'error',
      code: 'bad_length',
    });
    expect(decodeSlcanFrameLine('t12320')).toMatchObject({ kind: 'error', code: 'bad_length' });
    expect(decodeSlcanFrameLine('T2FFFFFFF0')).toMatchObject({ kind: 'error', code: 'bad_length' });
    expect(decodeSlcanFrameLine('t12G0')).toMatchObject({ kind: 'error', code: 'bad_hex' });
  });

  it('round-trips any classic or FD frame, and never throws on garbage (5 000 cases each)', () => {
    const fdLengths = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];
    const frame: fc.Arbitrary<CanFrame> = fc.oneof(
      fc.record({
        id: fc.integer({ min: 0, max: 0x7ff }),
        extended: fc.constant(false),
        fd: fc.constant(false),
        data: fc.uint8Array({ maxLength: 8 }),
      }),
      fc
        .record({
          id: fc.integer({ min: 0, max: 0x1fffffff }),
          extended: fc.constant(true),
          fd: fc.constant(true),
          brs: fc.constant(true),
          len: fc.constantFrom(...fdLengths),
        })
        .chain(({ len, ...rest }) =>
          fc.uint8Array({ minLength: len, maxLength: len }).map((data) => ({ ...rest, data })),
        ),
    );
    fc.assert(
      fc.property(frame, (f) => {
        const events = new SlcanDecoder().push(encodeSlcanFrame(f));
        expect(events).toEqual([{ kind: 'frame', frame: f }]);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const d = new SlcanDecoder();
        expect(Array.isArray(d.push(bytes))).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});
