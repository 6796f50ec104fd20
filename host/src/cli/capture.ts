import { createWriteStream, type WriteStream } from 'node:fs';
import { BLOCK_EPB } from '../capture/pcapng.js';
import { PcapngBlockSplitter } from '../capture/pcapng-reader.js';
import type { ApiClient } from './client.js';

export const CAPTURE_HELP = `Usage: mcubus capture [--bus NAME[,NAME…]] --out FILE.pcapng [--count N] [--duration S]
                      [--json]

Records what goes over the daemon's buses into a pcapng file that Wireshark and tshark open: UART
frames (and undecodable pieces, marked) as COBS on the wire, CAN frames as SocketCAN frames, Modbus
RTU ADUs, each with its direction and the host's timestamp. Without --bus every bus is captured, one
interface per bus. Stops at Ctrl-C, after --count N packets, or after --duration S seconds (1–86400);
the file is complete whenever it stops. tools/wireshark/mcubus.lua dissects the mcubus frames;
docs/observability.md ("Captures") says how to install it.`;

export interface CaptureOptions {
  readonly buses: readonly string[];
  readonly out: string;
  readonly count?: number;
  readonly durationMs?: number;
  readonly json: boolean;
}

export interface CaptureIo {
  out(text: string): void;
  err(text: string): void;
  signal?: AbortSignal;
}

/** `mcubus capture`: streams GET /v1/capture into FILE; returns the exit status (0, or 1 when the daemon cut it). */
export async function captureCommand(client: ApiClient, o: CaptureOptions, io: CaptureIo): Promise<number> {
  // The file is made only once the daemon accepted the capture: a refused one leaves nothing behind.
  let file: WriteStream | undefined;
  let fileError: Error | undefined;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  io.signal?.addEventListener('abort', onAbort, { once: true });
  if (io.signal?.aborted) stop.abort();
  const timer = o.durationMs === undefined ? undefined : setTimeout(() => stop.abort(), o.durationMs);
  // The daemon sends whole blocks, but in arbitrary pieces: count packets on block boundaries.
  const blocks = new PcapngBlockSplitter();
  let packets = 0;
  let bytes = 0;
  let how: 'ended' | 'aborted';
  try {
    how = await client.captureStream(
      { buses: o.buses, ...(o.count !== undefined ? { count: o.count } : {}) },
      (chunk) => {
        file?.write(chunk);
        bytes += chunk.length;
        const r = blocks.push(chunk);
        if (r.ok) packets += r.value.filter((b) => b.type === BLOCK_EPB).length;
      },
      {
        signal: stop.signal,
        onOpen: () => {
          file = createWriteStream(o.out);
          file.on('error', (e) => {
            fileError ??= e;
            stop.abort();
          });
          if (!o.json)
            io.err(`capturing ${o.buses.length > 0 ? o.buses.join(', ') : 'every bus'} to ${o.out}`);
        },
      },
    );
  } finally {
    if (timer) clearTimeout(timer);
    io.signal?.removeEventListener('abort', onAbort);
    const f = file;
    if (f && !fileError) await new Promise<void>((resolve) => f.end(() => resolve()));
  }
  if (fileError) {
    io.err(`mcubus capture: cannot write ${o.out}: ${fileError.message}`);
    return 1;
  }
  const complete = how === 'aborted' || (o.count !== undefined && packets >= o.count);
  if (o.json) io.out(JSON.stringify({ file: o.out, packets, bytes, complete }));
  else io.out(`${packets} packet${packets === 1 ? '' : 's'} (${bytes} bytes) written to ${o.out}`);
  if (blocks.failed) io.err(`mcubus capture: the stream is damaged: ${blocks.failed.message}`);
  if (!complete) io.err('mcubus capture: the daemon closed the capture');
  return complete && !blocks.failed ? 0 : 1;
}
