import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { candump } from '../src/index.js';

describe('candump log format', () => {
  it('reads the forms candump writes: standard, extended, remote, CAN FD with flags', () => {
    const lines = [
      '(1436509052.249713) vcan0 044#2A366C2BBA',
      '(1436509052.250000) can0 18DA21F1#1014010821000401',
      '(1436509052.260001) can0 123#R',
      `(1436509052.270002) can0 18DA2110##1${'00'.repeat(12)}`,
      '(1436509052.280003) can0 18DA2110##3AA R',
    ];
    const r = lines.map((l) => candump.parseCandumpLine(l));
    expect(r.map((x) => x.ok)).toEqual([true, true, true, true, true]);
    const [std, ext, rtr, fd, esi] = r.map((x) => (x.ok ? x.value : null));
    expect(esi).toMatchObject({ direction: 'rx', frame: { fd: true, brs: true, esi: true } });
    expect(std).toMatchObject({
      seconds: 1436509052,
      micros: 249713,
      iface: 'vcan0',
      frame: { id: 0x44, extended: false, fd: false },
    });
    expect(Array.from(std!.frame.data)).toEqual([0x2a, 0x36, 0x6c, 0x2b, 0xba]);
    expect(ext!.frame).toMatchObject({ id: 0x18da21f1, extended: true, fd: false });
    expect(rtr!.frame).toMatchObject({ id: 0x123, rtr: true });
    expect(fd!.frame).toMatchObject({ fd: true, brs: true });
    expect(fd!.frame.data.length).toBe(12);
  });

  it('refuses what is not a frame with a typed error, error frames included', () => {
    const code = (l: string) => {
      const r = candump.parseCandumpLine(l);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code('hello')).toBe('bad_line');
    expect(code('(1.0) can0 12#00')).toBe('bad_id'); // two digits: neither form
    expect(code('(1.0) can0 800#00')).toBe('bad_id'); // over 11 bits
    expect(code('(1.0) can0 123#001')).toBe('bad_data'); // odd hex
    expect(code('(1.0) can0 123#000102030405060708')).toBe('bad_data'); // 9 bytes classic
    expect(code(`(1.0) can0 123##1${'00'.repeat(9)}`)).toBe('bad_data'); // not an FD length
    expect(code('(1.0) can0 20000080#0000000000000000')).toBe('error_frame');
    const log = candump.parseCandumpLog('(1.000001) can0 123#01\n\nnonsense\n(1.000002) can0 124#02\n');
    expect(log.records).toHaveLength(2);
    expect(log.errors.map((e) => [e.line, e.error.code])).toEqual([[3, 'bad_line']]);
  });

  it('writes what it reads, byte for byte (2 000 random frames)', () => {
    const frame = fc.oneof(
      fc.record({
        id: fc.integer({ min: 0, max: 0x1fffffff }),
        extended: fc.constant(true),
        fd: fc.constant(false),
        data: fc.uint8Array({ maxLength: 8 }),
      }),
      fc.record({
        id: fc.integer({ min: 0, max: 0x7ff }),
        extended: fc.constant(false),
        fd: fc.constant(false),
        data: fc.uint8Array({ maxLength: 8 }),
      }),
      fc.record({
        id: fc.integer({ min: 0, max: 0x1fffffff }),
        extended: fc.constant(true),
        fd: fc.constant(true),
        brs: fc.boolean(),
        data: fc
          .constantFrom(0, 1, 8, 12, 16, 20, 24, 32, 48, 64)
          .chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 999_999 }),
        frame,
        (seconds, micros, f) => {
          const rec = {
            seconds,
            micros,
            iface: 'can0',
            frame: { ...f, ...(f.fd && f.brs ? { brs: true } : {}) },
          };
          if ('brs' in rec.frame && !rec.frame.brs) delete (rec.frame as { brs?: boolean }).brs;
          const line = candump.formatCandumpLine(rec);
          const back = candump.parseCandumpLine(line);
          expect(back.ok && candump.formatCandumpLine(back.value)).toBe(line);
          expect(back.ok && Array.from(back.value.frame.data)).toEqual(Array.from(f.data));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
