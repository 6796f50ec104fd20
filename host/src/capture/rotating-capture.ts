import { closeSync, mkdirSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CauseCounters, type Result } from '@mcubus/protocol';
import type { CaptureError, CaptureSession, CaptureSink } from './capture-hub.js';
import { captureFileName, expiredFiles, fitsInFile, nextSeq, type RotationLimits } from './rotation.js';

export interface RotatingCaptureOptions extends RotationLimits {
  readonly directory: string;
  /** Buses to capture; empty: every capturable bus. */
  readonly buses: readonly string[];
  /** Opens the live capture (the daemon's `capture`). */
  readonly open: (buses: readonly string[], sink: CaptureSink) => Result<CaptureSession, CaptureError>;
  readonly nowWallMs: () => number;
  readonly log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** Buffered bytes are written at least this often (ms), and whenever 64 KiB are waiting. Default 1000. */
  readonly flushEveryMs?: number;
}

export interface RotatingCapture {
  readonly counters: CauseCounters;
  /** The file being written. */
  readonly currentFile: string;
  /** Writes what is buffered and closes the file; the capture stops. */
  close(): void;
}

const FLUSH_BYTES = 64 * 1024;

/**
 * The daemon's always-on capture (config section `capture`): a pcapng file per `maxFileBytes`, the
 * newest `files` kept. Each file starts with its own section header, so every file opens on its
 * own. Packets are buffered and written at least every second: a crash loses at most that much.
 * Write errors (a full disk) are logged once per file and counted; the capture carries on.
 */
export function startRotatingCapture(o: RotatingCaptureOptions): RotatingCapture {
  mkdirSync(o.directory, { recursive: true });
  const counters = new CauseCounters();
  let seq = nextSeq(readdirSync(o.directory));
  let fd: number | undefined;
  let file = '';
  let fileBytes = 0;
  let headerBytes = 0;
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let warned = false;
  let session: CaptureSession | undefined;

  const flush = () => {
    if (fd === undefined || pendingBytes === 0) return;
    const data = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    try {
      writeSync(fd, data);
      counters.add('bytes_written', data.length);
    } catch (e) {
      counters.add('write_errors');
      counters.add('bytes_lost', data.length);
      if (!warned)
        o.log.warn({ file, error: (e as Error).message }, 'capture: cannot write; packets are lost');
      warned = true;
    }
  };

  const startFile = (header: Uint8Array) => {
    flush();
    if (fd !== undefined) closeSync(fd);
    file = join(o.directory, captureFileName(seq++, o.nowWallMs()));
    fd = openSync(file, 'w');
    warned = false;
    counters.add('files');
    for (const old of expiredFiles(readdirSync(o.directory), o)) {
      try {
        unlinkSync(join(o.directory, old));
        counters.add('files_deleted');
      } catch (e) {
        counters.add('delete_errors');
        o.log.warn({ file: old, error: (e as Error).message }, 'capture: cannot delete an old file');
      }
    }
    fileBytes = 0;
    headerBytes = header.length;
    push(header);
  };

  const push = (chunk: Uint8Array) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    fileBytes += chunk.length;
    if (pendingBytes >= FLUSH_BYTES) flush();
  };

  const opened = o.open(o.buses, {
    write(chunk, packets) {
      if (packets === 0) return startFile(chunk);
      // A new file restarts the section, its timestamps rebased on the wall clock of now.
      if (!fitsInFile(fileBytes, headerBytes, chunk.length, o) && session) startFile(session.rebase());
      push(chunk);
      counters.add('packets', packets);
    },
  });
  if (!opened.ok) {
    if (fd !== undefined) closeSync(fd);
    throw new Error(`capture: ${opened.error.message}`);
  }
  session = opened.value;
  const timer = setInterval(flush, o.flushEveryMs ?? 1000);
  timer.unref();
  o.log.info({ directory: o.directory, buses: session.buses, file }, 'capture: writing');
  return {
    counters,
    get currentFile() {
      return file;
    },
    close() {
      clearInterval(timer);
      session?.close();
      flush();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
