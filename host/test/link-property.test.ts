import { encodeFrame } from '@mcubus/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LinkCore } from '../src/link/core.js';

describe('LinkCore: frame input never throws', () => {
  it('random bytes are counted, never thrown (2000 runs)', () => {
    const core = new LinkCore({ random: () => 0.5 });
    let frames = 0;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(1_000_000), (bytes, t) => {
        const out = core.handle({ type: 'frame', bytes, bus: 'fuzz', rxUs: t }, t);
        frames++;
        expect(out.send).toHaveLength(0);
        for (const ev of out.emit)
          expect(['bad_frame', 'unsolicited', 'stray_answer', 'duplicate']).toContain(ev.type);
      }),
      { numRuns: 2000 },
    );
    expect(core.counters().byBus.fuzz?.received).toBe(frames);
  });

  it('mutated valid frames (with requests pending) are counted, never thrown', () => {
    const core = new LinkCore({ random: () => 0.5 });
    for (let h = 0; h < 8; h++)
      core.handle({ type: 'request', handle: h, dst: 0x21, message: { type: 'ping', body: {} } }, 0);
    const base = encodeFrame(
      { dst: 0, src: 0x21, seq: 3, response: true },
      { type: 'pong', body: { nonce: 9 } },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(base.length),
        (edits, cut) => {
          const bytes = base.slice(0, Math.max(cut, base.length - 2));
          for (const [i, v] of edits) if (i < bytes.length) bytes[i] = v;
          expect(() => core.handle({ type: 'frame', bytes, bus: 'fuzz', rxUs: 10 }, 10)).not.toThrow();
        },
      ),
      { numRuns: 2000 },
    );
  });
});
