import type { CanFrame, candump } from '@mcubus/protocol';
import {
  concatBlocks,
  enhancedPacketBlock,
  interfaceDescriptionBlock,
  LINKTYPE_CAN_SOCKETCAN,
  sectionHeaderBlock,
} from '../capture/pcapng.js';
import { parsePcapng } from '../capture/pcapng-reader.js';

const CAN_EFF_FLAG = 0x8000_0000;
const CAN_RTR_FLAG = 0x4000_0000;
const CAN_ERR_FLAG = 0x2000_0000;
const CANFD_BRS = 0x01;
const CANFD_ESI = 0x02;
const CANFD_FDF = 0x04;

/**
 * candump log ⇄ pcapng (LINKTYPE_CAN_SOCKETCAN), so that a capture from `candump -l` opens in
 * Wireshark next to the daemon's own, and the daemon's CAN captures feed the tools that read candump
 * logs (canplayer, cantools, python-can).
 */
export function candumpToPcapng(records: readonly candump.CandumpRecord[]): Uint8Array {
  const ifaces = [...new Set(records.map((r) => r.iface))];
  const blocks: Uint8Array[] = [sectionHeaderBlock({ userAppl: 'mcubus candump import' })];
  for (const name of ifaces)
    blocks.push(interfaceDescriptionBlock({ linkType: LINKTYPE_CAN_SOCKETCAN, name }));
  for (const r of records) {
    blocks.push(
      enhancedPacketBlock({
        interfaceId: ifaces.indexOf(r.iface),
        timestampUs: r.seconds * 1_000_000 + r.micros,
        data: socketcanBytes(r.frame),
        ...(r.direction ? { direction: r.direction === 'rx' ? ('in' as const) : ('out' as const) } : {}),
      }),
    );
  }
  return concatBlocks(blocks);
}

export type PcapngToCandumpError = { code: 'bad_pcapng' | 'no_can'; message: string };

/** The CAN packets of a pcapng capture as candump records; other interfaces are skipped. */
export function pcapngToCandump(
  bytes: Uint8Array,
):
  | { ok: true; records: candump.CandumpRecord[]; skipped: number }
  | { ok: false; error: PcapngToCandumpError } {
  const parsed = parsePcapng(bytes);
  if (!parsed.ok) return { ok: false, error: { code: 'bad_pcapng', message: parsed.error.message } };
  const { interfaces, packets } = parsed.value;
  if (!interfaces.some((i) => i.linkType === LINKTYPE_CAN_SOCKETCAN))
    return {
      ok: false,
      error: { code: 'no_can', message: 'the capture has no CAN (LINKTYPE_CAN_SOCKETCAN) interface' },
    };
  const records: candump.CandumpRecord[] = [];
  let skipped = 0;
  for (const p of packets) {
    const i = interfaces[p.interfaceId];
    if (i?.linkType !== LINKTYPE_CAN_SOCKETCAN || p.data.length < 8) {
      skipped++;
      continue;
    }
    const view = new DataView(p.data.buffer, p.data.byteOffset, p.data.byteLength);
    const word = view.getUint32(0, false);
    if ((word & CAN_ERR_FLAG) !== 0) {
      skipped++;
      continue;
    }
    const len = Math.min(p.data[4]!, p.data.length - 8);
    const fdFlags = p.data[5]!;
    const fd = (fdFlags & CANFD_FDF) !== 0 || len > 8;
    const extended = (word & CAN_EFF_FLAG) !== 0;
    const frame: candump.CandumpRecord['frame'] = {
      id: word & (extended ? 0x1fffffff : 0x7ff),
      extended,
      fd,
      data: p.data.slice(8, 8 + len),
      ...(fd && fdFlags & CANFD_BRS ? { brs: true } : {}),
      ...(fd && fdFlags & CANFD_ESI ? { esi: true } : {}),
      ...((word & CAN_RTR_FLAG) !== 0 ? { rtr: true } : {}),
    };
    records.push({
      seconds: Math.floor(p.timestampUs / 1e6),
      micros: p.timestampUs % 1e6,
      iface: i.name ?? `can${p.interfaceId}`,
      frame,
      ...(p.direction ? { direction: p.direction === 'in' ? ('rx' as const) : ('tx' as const) } : {}),
    });
  }
  return { ok: true, records, skipped };
}

function socketcanBytes(f: CanFrame & { rtr?: boolean; esi?: boolean }): Uint8Array {
  const out = new Uint8Array(8 + f.data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, ((f.extended ? CAN_EFF_FLAG : 0) | (f.rtr ? CAN_RTR_FLAG : 0) | f.id) >>> 0, false);
  out[4] = f.data.length;
  out[5] = f.fd ? CANFD_FDF | (f.brs ? CANFD_BRS : 0) | (f.esi ? CANFD_ESI : 0) : 0;
  out.set(f.data, 8);
  return out;
}
