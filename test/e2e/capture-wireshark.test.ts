import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBoard, NS_PER_MS, referenceBoard, type SimBoard } from '@mcubus/firmware-sim';
import {
  type FrameTransport,
  parsePcapng,
  runCli,
  simRuntime,
  simTransports,
  startApiServer,
} from '@mcubus/host';
import { decodeRawFrame } from '@mcubus/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { assertAvailable, commandAvailable, shouldSkip } from '../support/requirements.js';
import { daemonOn, settle, stateDirs } from '../support/sim-daemon.js';

const tshark = commandAvailable('tshark', 'apt-get install tshark; CI installs it from .ci/run');
const DISSECTOR = new URL('../../tools/wireshark/mcubus.lua', import.meta.url).pathname;

/** One mcubus frame as seen by one side: the bus, its direction for the host, and header fields. */
interface Seen {
  readonly bus: string;
  readonly dir: 'in' | 'out';
  readonly src: number;
  readonly dst: number;
  readonly type: number;
  readonly seq: number;
}

const key = (s: Seen) => `${s.bus} ${s.dir} ${s.src}>${s.dst} t${s.type} #${s.seq}`;

/**
 * The simulated reference board's transports, each recording the frames the daemon hands it and the
 * frames it delivers to the daemon: what the capture must show.
 */
function recordingTransports(board: SimBoard): { transports: FrameTransport[]; seen: Seen[] } {
  const seen: Seen[] = [];
  const note = (bus: string, dir: 'in' | 'out', frame: Uint8Array) => {
    const f = decodeRawFrame(frame);
    if (!f.ok) return;
    const h = f.value.header;
    seen.push({ bus, dir, src: h.src, dst: h.dst, type: h.type, seq: h.seq });
  };
  const transports = simTransports(board, simRuntime(board.sim)).map((t) => {
    t.onFrame((frame) => note(t.name, 'in', frame));
    return {
      ...t,
      send: (
        frame: Uint8Array,
        nextHop: number,
        priority: 0 | 1 | 2 | 3,
        onStarted?: (us: number) => void,
      ) => {
        note(t.name, 'out', frame);
        t.send(frame, nextHop, priority, onStarted);
      },
    } satisfies FrameTransport;
  });
  return { transports, seen };
}

/** tshark's view of a capture: one row per mcubus frame it dissected, with the fields asked. */
function tsharkFrames(file: string): {
  rows: (Seen & { canSa?: number; canTa?: number })[];
  undecodable: string[];
  pci: string[];
  badCrc: number;
  ms: number;
} {
  const started = Date.now();
  const fields = [
    'frame.interface_name',
    'frame.p2p_dir',
    'mcubus.src',
    'mcubus.dst',
    'mcubus.type',
    'mcubus.seq',
    'mcubus.crc.status',
    'mcubus_uart.error',
    'mcubus_rtu.crc.status',
    'mcubus_can.sa',
    'mcubus_can.ta',
    'mcubus_can.pci',
  ];
  const r = spawnSync(
    'tshark',
    [
      '-r',
      file,
      '-X',
      `lua_script:${DISSECTOR}`,
      '-T',
      'fields',
      '-E',
      'separator=/t',
      ...fields.flatMap((f) => ['-e', f]),
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).not.toMatch(/Lua Error|error/i);
  expect(r.status).toBe(0);
  const rows: (Seen & { canSa?: number; canTa?: number })[] = [];
  const undecodable: string[] = [];
  const pci: string[] = [];
  let badCrc = 0;
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const [bus, dir, src, dst, type, seq, crc, uartError, rtuCrc, canSa, canTa, canPci] = line.split('\t');
    if (uartError) undecodable.push(uartError);
    if (canPci) pci.push(canPci);
    if (rtuCrc === '0') badCrc++;
    if (!src) continue;
    if (crc !== '1') {
      badCrc++;
      continue;
    }
    rows.push({
      bus: bus!,
      dir: dir === '0' ? 'out' : 'in',
      src: Number(src),
      dst: Number(dst),
      type: Number(type),
      seq: Number(seq),
      ...(canSa ? { canSa: Number(canSa), canTa: Number(canTa) } : {}),
    });
  }
  return { rows, undecodable, pci, badCrc, ms: Date.now() - started };
}

/** Lets the API server and the CLI run (real I/O) while the board's virtual time stands still. */
const ioTurn = () => new Promise((resolve) => setTimeout(resolve, 5));

describe.skipIf(shouldSkip(tshark))(
  'captures that Wireshark reads (tshark + tools/wireshark/mcubus.lua)',
  () => {
    const dirs = stateDirs('mcubus-capture-');
    afterEach(dirs.cleanup);

    it('`mcubus capture` records the reference board through the daemon; tshark decodes every frame the daemon handled', async () => {
      assertAvailable(tshark);
      // Line noise toward the host on the UART at 1.2 s: undecodable pieces, which the capture marks.
      const board = buildBoard(
        referenceBoard({
          faults: [{ atMs: 1200, kind: 'noise', bus: 'uart0', bytes: 300, towardHost: true }],
        }),
        7,
      );
      const dir = dirs.make();
      const { transports, seen } = recordingTransports(board);
      const { daemon, registry } = daemonOn(board, dir, { transports });
      const socketPath = join(dir, 'api.sock');
      const api = await startApiServer(daemon, { socketPath });
      const file = join(dir, 'board.pcapng');
      const stop = new AbortController();
      const out: string[] = [];
      let capturing = false;
      const cli = runCli(['capture', '--socket', socketPath, '--bus', 'uart0,rs485', '--out', file], {
        stdout: { write: (s: string) => out.push(s) },
        stderr: { write: (s: string) => (capturing ||= s.startsWith('capturing')) },
        signal: stop.signal,
      });
      // The capture is open before the daemon sends its first byte.
      while (!capturing) await ioTurn();
      await daemon.start();
      for (let t = 0; t < 2500; t += 50) {
        board.sim.runFor(50 * NS_PER_MS);
        await ioTurn();
      }
      const viaGateway = await settle(board, daemon.ping(0x22));
      const viaModbus = await settle(board, daemon.ping(0x30));
      expect([viaGateway.ok, viaModbus.ok]).toEqual([true, true]);
      await daemon.stop();
      for (let i = 0; i < 10; i++) await ioTurn(); // the last packets reach the file
      stop.abort();
      expect(await cli).toBe(0);
      // A bus the daemon does not have: refused with the reason, and no file is left behind.
      const errors: string[] = [];
      const io = { stdout: { write: () => true }, stderr: { write: (t: string) => errors.push(t) } };
      const refusedFile = join(dir, 'refused.pcapng');
      expect(
        await runCli(['capture', '--socket', socketPath, '--bus', 'can9', '--out', refusedFile], io),
      ).toBe(1);
      expect(errors.join('')).toBe('mcubus capture: no bus is named "can9" (buses: uart0, rs485)\n');
      expect(existsSync(refusedFile)).toBe(false);
      await api.close();
      const uartCounters = transports.find((t) => t.name === 'uart0')!.counters();
      registry.close();

      // The file: one interface per bus asked, in that order, µs timestamps, packets in time order.
      const capture = parsePcapng(readFileSync(file));
      if (!capture.ok) expect.unreachable(capture.error.message);
      expect(capture.value.interfaces).toEqual([
        { linkType: 147, name: 'uart0', tsresol: 6 },
        { linkType: 148, name: 'rs485', tsresol: 6 },
      ]);
      const packets = capture.value.packets;
      expect(out.join('')).toBe(
        `${packets.length} packets (${readFileSync(file).length} bytes) written to ${file}\n`,
      );
      for (const id of [0, 1]) {
        const times = packets.filter((p) => p.interfaceId === id).map((p) => p.timestampUs);
        const backwards = times.filter((t, i) => i > 0 && t < times[i - 1]!);
        expect(backwards).toEqual([]);
      }
      // The simulated runtime's wall clock starts at 2026-01-01T00:00:00Z.
      expect(packets[0]!.timestampUs).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 1) * 1000);

      const ws = tsharkFrames(file);
      expect(ws.ms).toBeLessThan(5000);
      // Every frame the daemon sent or received on these buses, and only those, in the same order per
      // bus and direction, with the same source, destination, type and sequence number.
      for (const bus of ['uart0', 'rs485']) {
        for (const dir of ['in', 'out'] as const) {
          const daemonSide = seen.filter((s) => s.bus === bus && s.dir === dir).map(key);
          const wireshark = ws.rows.filter((s) => s.bus === bus && s.dir === dir).map(key);
          expect(daemonSide.length).toBeGreaterThan(10);
          if (bus === 'rs485' && dir === 'out') {
            // Frames the Modbus master still held for a device when the daemon stopped never hit the wire.
            expect(daemonSide.slice(0, wireshark.length)).toEqual(wireshark);
            expect(daemonSide.length - wireshark.length).toBeLessThanOrEqual(2);
          } else expect(wireshark).toEqual(daemonSide);
        }
      }
      expect(ws.badCrc).toBe(0);
      // The pings, decoded by name through the gateway (UART) and through the Modbus tunnel.
      const names = ws.rows.map((r) => `${r.bus} ${r.src}>${r.dst} ${r.type}`);
      expect(names).toContain('uart0 0>34 4'); // PING host → 0x22
      expect(names).toContain('uart0 34>0 5'); // PONG 0x22 → host
      expect(names).toContain('rs485 0>48 4');
      expect(names).toContain('rs485 48>0 5');
      // The noise: each piece the daemon's decoder refused is in the capture, marked with the same code.
      const refused =
        (uartCounters.cobs_zero ?? 0) + (uartCounters.cobs_overrun ?? 0) + (uartCounters.oversize ?? 0);
      expect(refused).toBeGreaterThan(0);
      expect(ws.undecodable).toHaveLength(refused);
      expect(new Set(ws.undecodable)).toEqual(
        new Set(packets.filter((p) => p.comment).map((p) => p.comment!.replace('undecodable: ', ''))),
      );
    });

    it('CAN: SocketCAN frames (227) with §7.1 addressing and ISO-TP PCI; Wireshark reassembles the frames the daemon exchanged', async () => {
      assertAvailable(tshark);
      // The reference board with the host on the CAN bus as well: it hears the gateway's traffic too.
      const board = buildBoard(referenceBoard({ host: { buses: ['uart0', 'can0', 'rs485'] } }), 3);
      const dir = dirs.make();
      const { transports, seen } = recordingTransports(board);
      const { daemon, registry } = daemonOn(board, dir, { transports });
      const chunks: Uint8Array[] = [];
      const session = daemon.capture(['can0'], { write: (c) => chunks.push(c) });
      if (!session.ok) expect.unreachable(session.error.message);
      await daemon.start();
      board.sim.runFor(2000 * NS_PER_MS);
      const ping = await settle(board, daemon.ping(0x21));
      expect(ping.ok).toBe(true);
      await daemon.stop();
      board.sim.runFor(200 * NS_PER_MS); // ISO-TP transfers under way finish on the wire
      session.value.close();
      registry.close();
      const file = join(dir, 'can.pcapng');
      writeFileSync(file, Buffer.concat(chunks));

      const capture = parsePcapng(readFileSync(file));
      if (!capture.ok) expect.unreachable(capture.error.message);
      expect(capture.value.interfaces).toEqual([{ linkType: 227, name: 'can0', tsresol: 6 }]);
      expect(capture.value.packets.length).toBe(session.value.packets);
      // 8-byte SocketCAN header: an extended id in the mcubus scheme (PF 0xDA or 0xDB), then the data.
      const first = capture.value.packets[0]!.data;
      expect(first[0]! & 0x80).toBe(0x80);
      expect([0xda, 0xdb]).toContain(first[1]);

      const ws = tsharkFrames(file);
      expect(ws.ms).toBeLessThan(5000);
      expect(ws.badCrc).toBe(0);
      // Every CAN frame of the capture is in the §7.1 scheme, so each got a PCI. A frame has at least 13
      // bytes and a classic CAN single frame carries 7: every message is FF + CFs, answered by FCs.
      expect(ws.pci).toHaveLength(capture.value.packets.length);
      expect(new Set(ws.pci)).toEqual(new Set(['1', '2', '3']));
      const hostSide = ws.rows.filter((r) => r.canSa === 0 || r.canTa === 0 || r.canTa === 0xff);
      for (const d of ['in', 'out'] as const) {
        const daemonSide = seen.filter((s) => s.bus === 'can0' && s.dir === d).map(key);
        const wireshark = hostSide.filter((s) => s.dir === d).map(key);
        expect(daemonSide.length).toBeGreaterThan(10);
        // Received: in wire order, and the capture goes on for the 200 ms after the daemon stopped
        // listening. Sent: all of them, in the order arbitration let them on the bus (by priority).
        if (d === 'in') expect(wireshark.slice(0, daemonSide.length)).toEqual(daemonSide);
        else expect([...wireshark].sort()).toEqual([...daemonSide].sort());
      }
      const names = ws.rows.map((r) => `${r.src}>${r.dst} ${r.type}`);
      expect(names).toContain('0>33 4'); // PING host → 0x21, straight on CAN
      expect(names).toContain('33>0 5');
    });
  },
);
