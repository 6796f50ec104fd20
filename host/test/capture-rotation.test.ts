import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CaptureHub } from '../src/capture/capture-hub.js';
import { parsePcapng } from '../src/capture/pcapng-reader.js';
import { startRotatingCapture } from '../src/capture/rotating-capture.js';
import {
  captureFileName,
  captureFileSeq,
  expiredFiles,
  fitsInFile,
  nextSeq,
} from '../src/capture/rotation.js';
import { parseConfig } from '../src/config/parse.js';
import { CaptureTap } from '../src/transports/capture-tap.js';

describe('capture file rotation rules', () => {
  it('names files by sequence then UTC start, and reads the sequence back', () => {
    const name = captureFileName(42, Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    expect(name).toBe('mcubus-000042-20260102T030405Z.pcapng');
    expect(captureFileSeq(name)).toBe(42);
    expect(captureFileSeq('notes.txt')).toBeUndefined();
    expect(nextSeq(['notes.txt', name, 'mcubus-000007-20260101T000000Z.pcapng'])).toBe(43);
    expect(nextSeq([])).toBe(1);
  });

  it('keeps the newest files by sequence, never touching other files', () => {
    const names = [
      'mcubus-000009-20260101T000000Z.pcapng',
      'keep-me.pcapng',
      'mcubus-000011-20251231T000000Z.pcapng', // an earlier wall clock does not make it older
      'mcubus-000010-20260101T000000Z.pcapng',
    ];
    expect(expiredFiles(names, { files: 2, maxFileBytes: 1 })).toEqual([
      'mcubus-000009-20260101T000000Z.pcapng',
    ]);
  });

  it('rotates before a packet would pass the limit, but a file always takes its first packet', () => {
    const limits = { files: 2, maxFileBytes: 1000 };
    expect(fitsInFile(900, 100, 100, limits)).toBe(true);
    expect(fitsInFile(901, 100, 100, limits)).toBe(false);
    expect(fitsInFile(100, 100, 5000, limits)).toBe(true);
  });
});

describe('rotating capture files', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('writes complete pcapng files of at most maxFileBytes and keeps the newest `files`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-rot-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'mcubus-000003-20250101T000000Z.pcapng'), 'from an earlier run');
    let nowUs = 1_000_000;
    const tap = new CaptureTap();
    const hub = new CaptureHub([{ name: 'rs485', kind: 'modbus', onCapture: (l) => tap.add(l) }], {
      nowUs: () => nowUs,
      nowWallUs: () => 1_767_225_600_000_000 + nowUs,
    });
    const warnings: object[] = [];
    const capture = startRotatingCapture({
      directory: dir,
      buses: [],
      maxFileBytes: 4096,
      files: 3,
      open: (buses, sink) => hub.open(buses, sink),
      nowWallMs: () => Date.UTC(2026, 0, 1),
      log: { info() {}, warn: (o) => warnings.push(o) },
    });
    // 300 polls of 5 bytes: an EPB of 48 bytes each, 14.4 kB in all.
    const poll = Uint8Array.of(0x07, 0x41, 0x00, 0x30, 0x1d);
    for (let i = 0; i < 300; i++) {
      nowUs += 1000;
      tap.emit({ link: 'modbus', direction: 'out', atUs: nowUs, adu: poll });
    }
    capture.close();
    expect(warnings).toEqual([]);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(3);
    // Numbering continues after the earlier run's file, which rotation has deleted by now.
    expect(files[0]).toMatch(/^mcubus-0000(0[6-9]|1\d)-20260101T000000Z\.pcapng$/);
    const seqs = files.map((f) => captureFileSeq(f)!);
    expect(seqs).toEqual([seqs[0]!, seqs[0]! + 1, seqs[0]! + 2]);
    const packets = files.flatMap((f) => {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.length).toBeLessThanOrEqual(4096);
      const parsed = parsePcapng(bytes);
      if (!parsed.ok) expect.unreachable(parsed.error.message);
      expect(parsed.value.interfaces).toEqual([{ linkType: 148, name: 'rs485', tsresol: 6 }]);
      return parsed.value.packets;
    });
    // The newest packets survive, in order, none lost between files.
    const last = 1_767_225_600_000_000 + 1_000_000 + 300 * 1000;
    expect(packets.at(-1)!.timestampUs).toBe(last);
    expect(packets.map((p) => p.timestampUs)).toEqual(
      packets.map((_, i) => last - (packets.length - 1 - i) * 1000),
    );
    expect(capture.counters.get('packets')).toBe(300);
    // Every file made, plus the earlier run's, was deleted but the three kept.
    expect(capture.counters.get('files_deleted')).toBe(capture.counters.get('files') + 1 - 3);
  });
});

describe('`capture` configuration section', () => {
  const base = 'buses:\n  - { name: uart0, type: uart, port: /dev/ttyUSB0 }\n';

  it('is absent by default, and on with defaults when present', () => {
    const none = parseConfig(base, 'c.yaml');
    expect(none.ok && none.value.capture).toBe(undefined);
    const on = parseConfig(`stateDir: /var/lib/x\n${base}capture: {}\n`, 'c.yaml');
    expect(on.ok && on.value.capture).toEqual({
      enabled: true,
      directory: '/var/lib/x/captures',
      maxFileBytes: 16 * 1024 * 1024,
      files: 10,
      buses: [],
    });
  });

  it('checks sizes, counts and bus names', () => {
    const r = parseConfig(
      `${base}capture:\n  maxFileBytes: 100\n  files: 0\n  buses: [uart0, can9]\n`,
      'c.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((e) => `${e.path}: ${e.message}`)).toEqual([
      'capture.maxFileBytes: must be between 4096 and 1099511627776, got 100',
      'capture.files: must be between 1 and 100000, got 0',
      'capture.buses[1]: no bus is named "can9"',
    ]);
  });
});
