import { encodeStreamFrame, modbus } from '@mcubus/protocol';
import { describe, expect, it } from 'vitest';
import { CaptureHub } from '../src/capture/capture-hub.js';
import { parsePcapng } from '../src/capture/pcapng-reader.js';
import { type CaptureRecord, CaptureTap } from '../src/transports/capture-tap.js';
import { captureAdus } from '../src/transports/modbus/modbus-capture.js';
import { UartCaptureSplitter } from '../src/transports/uart/uart-capture.js';

// The §2 worked example: host pings 0x21.
const PING = Uint8Array.from(Buffer.from('01082100080401 00a10107afe1fde7'.replace(/ /g, ''), 'hex'));

describe('UART capture splitter', () => {
  it('cuts wire pieces at each delimiter, skips idle delimiters, stamps each piece at its last byte', () => {
    const s = new UartCaptureSplitter(4096, 10);
    const wire = encodeStreamFrame(PING); // 17 bytes, ends in 00
    // An idle delimiter, the frame, and 2 bytes of the next piece: 20 bytes ending at t = 1000 µs.
    const chunk = Uint8Array.of(0, ...wire, 0x02, 0x11);
    const pieces = s.push(chunk, 1000);
    // The delimiter of the frame is byte 17 of 20: it finished arriving 2 character times before the end.
    expect(pieces).toEqual([{ bytes: wire, originalLength: 17, endUs: 1000 - 2 * 10 }]);
    // The rest of the second piece: 02 11 | 00 → a COBS code of 2 then a delimiter: one byte 0x11.
    expect(s.push(Uint8Array.of(0x00), 2000)).toEqual([
      { bytes: Uint8Array.of(0x02, 0x11, 0x00), originalLength: 3, endUs: 2000 },
    ]);
  });

  it('marks undecodable pieces with the decoder codes and cuts oversize ones to a prefix', () => {
    const s = new UartCaptureSplitter(16, 1);
    expect(s.push(Uint8Array.of(0x05, 0x11, 0x00), 10)).toEqual([
      { bytes: Uint8Array.of(0x05, 0x11, 0x00), originalLength: 3, endUs: 10, error: 'cobs_overrun' },
    ]);
    // 16-byte frames encode to at most 17 bytes: a 30-byte piece keeps 17 and says it had 31.
    const long = new Uint8Array(31).fill(0x01);
    long[30] = 0;
    const [piece] = s.push(long, 100);
    expect(piece).toMatchObject({ originalLength: 31, error: 'oversize' });
    expect(piece!.bytes).toHaveLength(17);
  });

  it('joining mid-piece skips to the next delimiter', () => {
    const s = new UartCaptureSplitter(4096, 1);
    s.resync();
    const wire = encodeStreamFrame(PING);
    expect(s.push(Uint8Array.of(0x33, 0x44, 0x00, ...wire), 100).map((p) => p.bytes)).toEqual([wire]);
  });
});

describe('Modbus capture records', () => {
  it('rebuilds received ADUs byte for byte, stamped at their end, then the ADUs to send', () => {
    const tap = new CaptureTap();
    const seen: CaptureRecord[] = [];
    tap.add((r) => seen.push(r));
    const poll = Uint8Array.of(0x21, 0x41, 0x00, 0x11, 0x9a); // §8.12
    captureAdus(
      tap,
      {
        send: [poll],
        emit: [],
        received: [{ address: 0x21, function: 0x41, data: Uint8Array.of(0) }],
      },
      10_000,
      100,
    );
    expect(seen).toEqual([
      { link: 'modbus', direction: 'in', atUs: 10_000, adu: poll },
      { link: 'modbus', direction: 'out', atUs: 10_000, adu: poll },
    ]);
    expect(modbus.decodeAdu(poll).ok).toBe(true);
  });

  it('places ADUs that arrived in one read back to back, the last ending now', () => {
    const tap = new CaptureTap();
    const seen: CaptureRecord[] = [];
    tap.add((r) => seen.push(r));
    const empty = { address: 0x21, function: 0x41, data: Uint8Array.of(0) }; // 5 bytes on the line
    captureAdus(tap, { send: [], emit: [], received: [empty, empty] }, 10_000, 100);
    expect(seen.map((r) => r.atUs)).toEqual([9_500, 10_000]);
  });
});

describe('capture hub', () => {
  const clock = { nowUs: () => 5_000_000, nowWallUs: () => 1_767_225_605_000_000 };

  function bus(name: string, kind: 'uart' | 'can' | 'modbus' | 'sim') {
    const tap = new CaptureTap();
    return { tap, source: { name, kind, onCapture: (l: Parameters<CaptureTap['add']>[0]) => tap.add(l) } };
  }

  it('writes one section per session, an interface per bus, packets on the wall clock with direction', () => {
    const uart = bus('uart0', 'uart');
    const can = bus('can0', 'can');
    const hub = new CaptureHub([uart.source, can.source], clock);
    const chunks: Uint8Array[] = [];
    const r = hub.open(['can0', 'uart0'], { write: (c) => chunks.push(c) });
    if (!r.ok) expect.unreachable(r.error.message);
    expect(uart.tap.active && can.tap.active).toBe(true);
    uart.tap.emit({ link: 'uart', direction: 'out', atUs: 4_000_000, bytes: encodeStreamFrame(PING) });
    can.tap.emit({
      link: 'can',
      direction: 'in',
      atUs: 4_000_250,
      frame: { id: 0x18da0021, extended: true, fd: false, data: Uint8Array.of(0x30, 0, 0) },
    });
    expect(r.value.packets).toBe(2);
    r.value.close();
    expect(uart.tap.active || can.tap.active).toBe(false);
    uart.tap.emit({ link: 'uart', direction: 'out', atUs: 4_000_500, bytes: encodeStreamFrame(PING) });
    const parsed = parsePcapng(Buffer.concat(chunks));
    if (!parsed.ok) expect.unreachable(parsed.error.message);
    expect(parsed.value.interfaces.map((i) => [i.name, i.linkType])).toEqual([
      ['can0', 227],
      ['uart0', 147],
    ]);
    expect(parsed.value.packets.map((p) => [p.interfaceId, p.timestampUs, p.direction])).toEqual([
      [1, 1_767_225_604_000_000, 'out'],
      [0, 1_767_225_604_000_250, 'in'],
    ]);
  });

  it('refuses an unknown bus or one without a tap, with a code, and counts it', () => {
    const hub = new CaptureHub([bus('uart0', 'uart').source, { name: 'x', kind: 'sim' }], clock);
    const sink = { write: () => {} };
    expect(hub.open(['nope'], sink)).toEqual({
      ok: false,
      error: { code: 'unknown_bus', message: 'no bus is named "nope" (buses: uart0, x)' },
    });
    expect(hub.open(['x'], sink)).toMatchObject({ ok: false, error: { code: 'not_capturable' } });
    expect(hub.counters.snapshot()).toEqual({ open_not_capturable: 1, open_unknown_bus: 1 });
    expect(hub.capturable()).toEqual(['uart0']);
  });
});
