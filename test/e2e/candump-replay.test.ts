import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBoard, referenceBoard } from '@mcubus/firmware-sim';
import { type CliIo, runCli } from '@mcubus/host';
import { candump } from '@mcubus/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { advance, daemonOn, settle, stateDirs } from '../support/sim-daemon.js';

function cli(argv: string[]): { code: Promise<number>; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  } as unknown as CliIo;
  return { code: runCli(argv, io), out, err };
}

describe('candump logs (issue 8): export, import, and post-mortem replay with the live decoders', () => {
  const dirs = stateDirs('mcubus-candump-');
  afterEach(dirs.cleanup);

  it('a log taken on the reference board decodes to exactly the frames the nodes received', async () => {
    const board = buildBoard(referenceBoard(), 5);
    // A bus analyser on can0, writing candump lines (time as a Unix epoch + the simulated time).
    const lines: string[] = [];
    const epochUs = 1_700_000_000_000_000;
    board.links.can.get('can0')!.monitor((a) => {
      if (a.outcome !== 'ok') return;
      const us = epochUs + Math.round(a.startNs / 1000);
      lines.push(
        candump.formatCandumpLine({
          seconds: Math.floor(us / 1e6),
          micros: us % 1e6,
          iface: 'can0',
          frame: a.frame,
        }),
      );
    });
    const truth: string[] = [];
    for (const name of ['node-a', 'node-b'])
      board.mcus.get(name)!.onReceived((h) => truth.push(`${h.src}>${h.dst}#${h.seq}`));
    const { daemon, registry } = daemonOn(board, dirs.make());
    await daemon.start();
    await advance(board, 4);
    for (let i = 0; i < 20; i++) await settle(board, daemon.ping(i % 2 ? 0x21 : 0x22));
    await advance(board, 1);
    await daemon.stop();
    registry.close();

    const dir = mkdtempSync(join(tmpdir(), 'mcubus-candump-files-'));
    try {
      const log = join(dir, 'can0.log');
      writeFileSync(log, `${lines.join('\n')}\n`);
      const decode = cli(['candump', 'decode', log, '--json']);
      expect(await decode.code).toBe(0);
      const result = JSON.parse(decode.out.join('')) as {
        summary: {
          canFrames: number;
          requests: number;
          answered: number;
          unanswered: unknown[];
          errors: Record<string, number>;
        };
        events: { kind: string; src: number; dst: number; seq: number; type: string }[];
      };
      expect(result.summary.canFrames).toBe(lines.length);
      expect(result.summary.errors).toEqual({});
      // Every frame a node received for itself is in the replay, and the replay invents none.
      const replayed = result.events
        .filter((e) => e.kind === 'frame' && (e.dst === 0x21 || e.dst === 0x22))
        .map((e) => `${e.src}>${e.dst}#${e.seq}`);
      expect(replayed.sort()).toEqual([...truth].sort());
      expect(result.events.filter((e) => e.type === 'ping').length).toBeGreaterThanOrEqual(20);
      expect(result.summary.unanswered).toEqual([]);
      expect(result.summary.answered).toBe(result.summary.requests);

      // candump → pcapng → candump gives the same lines.
      const pcap = join(dir, 'can0.pcapng');
      expect(await cli(['candump', 'to-pcapng', log, '--out', pcap]).code).toBe(0);
      expect(readFileSync(pcap).subarray(0, 4)).toEqual(Buffer.from([0x0a, 0x0d, 0x0d, 0x0a]));
      const back = cli(['candump', 'from-pcapng', pcap]);
      expect(await back.code).toBe(0);
      expect(back.out.join('').trimEnd().split('\n')).toEqual(lines);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the requests a lossy bus left unanswered, and bad lines by number', async () => {
    const spec = referenceBoard();
    const board = buildBoard(
      { ...spec, buses: spec.buses.map((b) => (b.name === 'can0' ? { ...b, faults: [{ drop: 0.05 }] } : b)) },
      6,
    );
    const lines: string[] = [];
    board.links.can.get('can0')!.monitor((a) => {
      if (a.outcome !== 'ok') return;
      const us = Math.round(a.startNs / 1000);
      lines.push(
        candump.formatCandumpLine({
          seconds: Math.floor(us / 1e6),
          micros: us % 1e6,
          iface: 'can0',
          frame: a.frame,
        }),
      );
    });
    const { daemon, registry } = daemonOn(board, dirs.make(), { requestRetries: 0 });
    await daemon.start();
    await advance(board, 4);
    let failed = 0;
    for (let i = 0; i < 60; i++) if (!(await settle(board, daemon.ping(0x21, 300))).ok) failed++;
    await daemon.stop();
    registry.close();
    expect(failed).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-candump-files-'));
    try {
      const log = join(dir, 'lossy.log');
      writeFileSync(
        log,
        `${lines.slice(0, 3).join('\n')}\nthis is not a frame\n${lines.slice(3).join('\n')}\n`,
      );
      const decode = cli(['candump', 'decode', log]);
      expect(await decode.code).toBe(1); // a bad line
      expect(decode.err.join('')).toContain(`${log}:4: bad_line`);
      const text = decode.out.join('');
      // The bus analyser saw frames the receivers lost: the replay has the whole story, and says
      // which requests never saw an answer on this bus.
      expect(text).toMatch(/\d+ requests, \d+ answered, [1-9]\d* without an answer/);
      expect(text).toContain('no answer: ping 0x00→0x21');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
