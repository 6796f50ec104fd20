import { readFileSync, writeFileSync } from 'node:fs';
import { candump } from '@mcubus/protocol';
import { candumpToPcapng, pcapngToCandump } from '../candump/convert.js';
import { replayCandump } from '../candump/replay.js';
import { describeFrame } from '../frame-format.js';

type Io = { out(s: string): void; err(s: string): void };

/**
 * `mcubus candump decode|to-pcapng|from-pcapng`: post-mortem work on CAN captures, without a daemon.
 * Exit status: 0 done, 1 the input had problems (reported, the rest still processed), 2 bad usage.
 */
export function candumpCommand(args: readonly string[], o: { out?: string; json?: boolean }, io: Io): number {
  const [sub, file, ...extra] = args;
  if (!sub || !file || extra.length > 0) {
    io.err('mcubus candump: give a subcommand and one file (mcubus candump --help)');
    return 2;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    io.err(`mcubus candump: cannot read ${file}: ${(e as Error).message}`);
    return 1;
  }
  switch (sub) {
    case 'decode': {
      const log = candump.parseCandumpLog(bytes.toString('utf8'));
      const { events, summary } = replayCandump(log.records);
      if (o.json) {
        io.out(JSON.stringify({ summary, badLines: log.errors, events: events.map(eventJson) }, null, 2));
      } else {
        for (const e of events) io.out(eventLine(e));
        io.out('');
        io.out(
          `${summary.canFrames} CAN frames → ${summary.mcubusFrames} mcubus frames; ${summary.requests} requests, ` +
            `${summary.answered} answered, ${summary.unanswered.length} without an answer, ${summary.retransmitted} sent more than once`,
        );
        for (const u of summary.unanswered)
          io.out(
            `  no answer: ${u.type} 0x${hex(u.src)}→0x${hex(u.dst)} seq ${u.seq} at ${iso(u.atUs)} (${u.copies} cop${u.copies === 1 ? 'y' : 'ies'})`,
          );
        for (const [code, n] of Object.entries(summary.errors)) io.out(`  ${code}: ${n}`);
      }
      for (const b of log.errors) io.err(`${file}:${b.line}: ${b.error.code}: ${b.error.message}`);
      return log.errors.length > 0 ? 1 : 0;
    }
    case 'to-pcapng': {
      if (!o.out) {
        io.err('mcubus candump to-pcapng: --out FILE.pcapng is required');
        return 2;
      }
      const log = candump.parseCandumpLog(bytes.toString('utf8'));
      writeFileSync(o.out, candumpToPcapng(log.records));
      for (const b of log.errors) io.err(`${file}:${b.line}: ${b.error.code}: ${b.error.message}`);
      io.out(
        `${log.records.length} frames written to ${o.out}${log.errors.length ? `, ${log.errors.length} bad lines skipped` : ''}`,
      );
      return log.errors.length > 0 ? 1 : 0;
    }
    case 'from-pcapng': {
      const r = pcapngToCandump(new Uint8Array(bytes));
      if (!r.ok) {
        io.err(`mcubus candump: ${file}: ${r.error.message}`);
        return 1;
      }
      const text = `${r.records.map(candump.formatCandumpLine).join('\n')}\n`;
      if (o.out) {
        writeFileSync(o.out, text);
        io.out(
          `${r.records.length} CAN frames written to ${o.out}${r.skipped ? ` (${r.skipped} other packets skipped)` : ''}`,
        );
      } else io.out(text.trimEnd());
      return 0;
    }
    default:
      io.err(`mcubus candump: unknown subcommand "${sub}" (decode, to-pcapng, from-pcapng)`);
      return 2;
  }
}

function eventLine(e: ReturnType<typeof replayCandump>['events'][number]): string {
  const at = iso(e.atUs);
  switch (e.kind) {
    case 'frame':
      return `${at} ${e.iface} ${describeFrame(e.frame, e.bytes)}`;
    case 'bad_frame':
      return `${at} ${e.iface} bad frame from 0x${hex(e.from)}: ${e.code}: ${e.detail}`;
    case 'isotp_error':
      return `${at} ${e.iface} ISO-TP at 0x${hex(e.node)}: ${e.code}: ${e.detail}`;
    case 'foreign':
      return `${at} ${e.iface} not mcubus: ${e.detail}`;
  }
}

function eventJson(e: ReturnType<typeof replayCandump>['events'][number]): unknown {
  if (e.kind !== 'frame') return e;
  const h = e.frame.header;
  return {
    kind: 'frame',
    atUs: e.atUs,
    iface: e.iface,
    src: h.src,
    dst: h.dst,
    seq: h.seq,
    response: h.response,
    type: e.frame.message.type,
  };
}

const hex = (n: number) => n.toString(16).padStart(2, '0');
const iso = (us: number) =>
  `${new Date(Math.floor(us / 1000)).toISOString().slice(0, -1)}${String(Math.floor(us % 1000)).padStart(3, '0')}Z`;
