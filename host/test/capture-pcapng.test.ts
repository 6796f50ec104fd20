import { describe, expect, it } from 'vitest';
import { packetBytes, packetComment } from '../src/capture/link-types.js';
import {
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  LINKTYPE_CAN_SOCKETCAN,
  LINKTYPE_USER0,
  sectionHeaderBlock,
} from '../src/capture/pcapng.js';
import { PcapngBlockSplitter, parsePcapng } from '../src/capture/pcapng-reader.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)/g, '$1 ').trim();

describe('pcapng blocks (draft-ietf-opsawg-pcapng)', () => {
  it('section header: type 0x0A0D0D0A, length 28, byte-order magic, version 1.0, length unknown (−1)', () => {
    expect(hex(sectionHeaderBlock())).toBe(
      [
        '0a 0d 0d 0a', // block type
        '1c 00 00 00', // total length 28
        '4d 3c 2b 1a', // byte-order magic 0x1A2B3C4D, little-endian
        '01 00 00 00', // major 1, minor 0
        'ff ff ff ff ff ff ff ff', // section length −1: not known, the file is written as a stream
        '1c 00 00 00', // total length again
      ].join(' '),
    );
  });

  it('section header options: comment (1) and shb_userappl (4), padded to 32 bits, then opt_endofopt', () => {
    expect(hex(sectionHeaderBlock({ comment: 'hi', userAppl: 'mcubusd' }))).toBe(
      [
        '0a 0d 0d 0a 34 00 00 00 4d 3c 2b 1a 01 00 00 00 ff ff ff ff ff ff ff ff',
        '01 00 02 00 68 69 00 00', // opt_comment "hi" + 2 bytes padding
        '04 00 07 00 6d 63 75 62 75 73 64 00', // shb_userappl "mcubusd" + 1 byte padding
        '00 00 00 00', // opt_endofopt
        '34 00 00 00', // total length 52
      ].join(' '),
    );
  });

  it('interface description: link type, snap length, if_name (2) and if_tsresol (9) = 6 (µs)', () => {
    expect(hex(interfaceDescriptionBlock({ linkType: LINKTYPE_USER0, name: 'u0' }))).toBe(
      [
        '01 00 00 00 28 00 00 00', // type 1, length 40
        '93 00 00 00', // LINKTYPE_USER0 (147), reserved
        'ff ff 00 00', // snap length 65535
        '02 00 02 00 75 30 00 00', // if_name "u0"
        '09 00 01 00 06 00 00 00', // if_tsresol 10^-6
        '00 00 00 00', // opt_endofopt
        '28 00 00 00',
      ].join(' '),
    );
  });

  it('enhanced packet: interface, 64-bit timestamp as high/low words, padded data, epb_flags direction', () => {
    const epb = enhancedPacketBlock({
      interfaceId: 1,
      timestampUs: 2 ** 32 + 2,
      data: Uint8Array.of(0xaa, 0xbb, 0xcc),
      direction: 'out',
    });
    expect(hex(epb)).toBe(
      [
        '06 00 00 00 30 00 00 00', // type 6, length 48
        '01 00 00 00', // interface 1
        '01 00 00 00 02 00 00 00', // timestamp high 1, low 2
        '03 00 00 00 03 00 00 00', // captured 3, original 3
        'aa bb cc 00', // data + 1 byte padding
        '02 00 04 00 02 00 00 00', // epb_flags: bits 0–1 = 10 outbound
        '00 00 00 00',
        '30 00 00 00',
      ].join(' '),
    );
    const inbound = enhancedPacketBlock({
      interfaceId: 0,
      timestampUs: 5,
      data: new Uint8Array(4),
      direction: 'in',
    });
    // Four data bytes need no padding; inbound is 01.
    expect(hex(inbound.subarray(28, 40))).toBe('00 00 00 00 02 00 04 00 01 00 00 00');
  });

  it('keeps the original length of a cut packet and refuses a timestamp it cannot store', () => {
    const epb = enhancedPacketBlock({
      interfaceId: 0,
      timestampUs: 0,
      data: Uint8Array.of(1),
      originalLength: 9000,
    });
    expect(hex(epb.subarray(20, 28))).toBe('01 00 00 00 28 23 00 00');
    expect(() => enhancedPacketBlock({ interfaceId: 0, timestampUs: -1, data: new Uint8Array(1) })).toThrow(
      /whole non-negative number of µs, not -1/,
    );
  });

  it('reads back what it writes, streamed in odd-sized pieces', () => {
    const file = Buffer.concat([
      sectionHeaderBlock({ userAppl: 'test' }),
      interfaceDescriptionBlock({ linkType: LINKTYPE_USER0, name: 'uart0' }),
      interfaceDescriptionBlock({ linkType: LINKTYPE_CAN_SOCKETCAN, name: 'can0' }),
      enhancedPacketBlock({
        interfaceId: 1,
        timestampUs: 1_767_225_600_000_123,
        data: Uint8Array.of(7),
        direction: 'in',
      }),
      enhancedPacketBlock({
        interfaceId: 0,
        timestampUs: 1_767_225_600_000_456,
        data: Uint8Array.of(1, 2, 3, 4, 5),
        comment: 'undecodable: cobs_zero',
      }),
    ]);
    const parsed = parsePcapng(file);
    expect(parsed.ok && parsed.value).toEqual({
      interfaces: [
        { linkType: 147, name: 'uart0', tsresol: 6 },
        { linkType: 227, name: 'can0', tsresol: 6 },
      ],
      packets: [
        {
          interfaceId: 1,
          timestampUs: 1_767_225_600_000_123,
          data: Uint8Array.of(7),
          originalLength: 1,
          direction: 'in',
        },
        {
          interfaceId: 0,
          timestampUs: 1_767_225_600_000_456,
          data: Uint8Array.of(1, 2, 3, 4, 5),
          originalLength: 5,
          comment: 'undecodable: cobs_zero',
        },
      ],
    });
    const splitter = new PcapngBlockSplitter();
    const types: number[] = [];
    for (let i = 0; i < file.length; i += 7) {
      const r = splitter.push(file.subarray(i, i + 7));
      if (r.ok) types.push(...r.value.map((b) => b.type));
    }
    expect(types).toEqual([0x0a0d0d0a, 1, 1, 6, 6]);
  });

  it('stops on a block length it cannot resynchronise from, with a code and a count', () => {
    const splitter = new PcapngBlockSplitter();
    const bad = Uint8Array.of(6, 0, 0, 0, 13, 0, 0, 0);
    const r = splitter.push(bad);
    expect(r).toEqual({
      ok: false,
      error: {
        code: 'bad_block_length',
        message: 'block at stream offset 0 claims 13 bytes (needs a multiple of 4, 12–1048576)',
      },
    });
    expect(splitter.counters.get('bad_block_length')).toBe(1);
    expect(parsePcapng(new Uint8Array(0))).toMatchObject({ ok: false, error: { code: 'not_pcapng' } });
  });
});

describe('packet bytes per link type', () => {
  it('CAN: LINKTYPE_CAN_SOCKETCAN header, id big-endian with the extended flag, FD flags', () => {
    const classic = packetBytes({
      link: 'can',
      direction: 'out',
      atUs: 0,
      frame: { id: 0x18da2100, extended: true, fd: false, data: Uint8Array.of(0x02, 0x11, 0x22) },
    });
    expect(hex(classic)).toBe('98 da 21 00 03 00 00 00 02 11 22');
    const fd = packetBytes({
      link: 'can',
      direction: 'in',
      atUs: 0,
      frame: { id: 0x123, extended: false, fd: true, brs: true, data: new Uint8Array(12) },
    });
    // Standard id, 12 bytes, CANFD_FDF | CANFD_BRS.
    expect(hex(fd.subarray(0, 8))).toBe('00 00 01 23 0c 05 00 00');
  });

  it('UART and Modbus: the wire bytes as they are; undecodable UART pieces get a comment', () => {
    const piece = Uint8Array.of(0x03, 0x11, 0x22, 0x00);
    expect(packetBytes({ link: 'uart', direction: 'in', atUs: 0, bytes: piece })).toBe(piece);
    expect(
      packetComment({ link: 'uart', direction: 'in', atUs: 0, bytes: piece, error: 'cobs_overrun' }),
    ).toBe('undecodable: cobs_overrun');
    const adu = Uint8Array.of(0x21, 0x41, 0x00, 0x11, 0x9a);
    expect(packetBytes({ link: 'modbus', direction: 'out', atUs: 0, adu })).toBe(adu);
  });
});
