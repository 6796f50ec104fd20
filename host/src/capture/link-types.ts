import type { CaptureRecord } from '../transports/capture-tap.js';
import { LINKTYPE_CAN_SOCKETCAN, LINKTYPE_USER0, LINKTYPE_USER1 } from './pcapng.js';

/**
 * How each bus kind is stored in a pcapng file (docs/observability.md, "Captures" explains the choice):
 * UART pieces as LINKTYPE_USER0, Modbus RTU ADUs as LINKTYPE_USER1 (both dissected by
 * tools/wireshark/mcubus.lua), CAN frames as LINKTYPE_CAN_SOCKETCAN, which Wireshark dissects itself.
 */
export const LINK_TYPE_OF: Readonly<Record<CaptureRecord['link'], number>> = {
  uart: LINKTYPE_USER0,
  modbus: LINKTYPE_USER1,
  can: LINKTYPE_CAN_SOCKETCAN,
};

export const LINK_DESCRIPTION: Readonly<Record<CaptureRecord['link'], string>> = {
  uart: 'mcubus UART: COBS pieces with their 0x00 delimiter (docs/protocol.md §6)',
  modbus: 'mcubus Modbus RTU: whole ADUs, CRC-16 included (docs/protocol.md §8)',
  can: 'mcubus CAN: ISO-TP frames, 29-bit ids of docs/protocol.md §7.1',
};

/** SocketCAN flags in the id word and the FD flags byte (LINKTYPE_CAN_SOCKETCAN). */
const CAN_EFF_FLAG = 0x8000_0000;
const CANFD_BRS = 0x01;
const CANFD_FDF = 0x04;

/**
 * The packet bytes of a record: the link layer Wireshark expects for its link type. For CAN the
 * 8-byte SocketCAN header: id and flags (big-endian), payload length, FD flags, two reserved bytes.
 */
export function packetBytes(record: CaptureRecord): Uint8Array {
  switch (record.link) {
    case 'uart':
      return record.bytes;
    case 'modbus':
      return record.adu;
    case 'can': {
      const f = record.frame;
      const out = new Uint8Array(8 + f.data.length);
      const view = new DataView(out.buffer);
      view.setUint32(0, ((f.extended ? CAN_EFF_FLAG : 0) | f.id) >>> 0, false);
      out[4] = f.data.length;
      out[5] = f.fd ? CANFD_FDF | (f.brs ? CANFD_BRS : 0) : 0;
      out.set(f.data, 8);
      return out;
    }
  }
}

/** Length on the wire when the capture kept only part of it (UART oversize pieces). */
export function originalLength(record: CaptureRecord): number | undefined {
  return record.link === 'uart' ? record.originalLength : undefined;
}

/** The packet comment Wireshark shows (pkt_comment): why a received piece is not a frame. */
export function packetComment(record: CaptureRecord): string | undefined {
  return record.link === 'uart' && record.error !== undefined ? `undecodable: ${record.error}` : undefined;
}
