import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../src/config/parse.js';
import { validateConfig } from '../src/config/validate.js';

function ok(text: string) {
  const r = parseConfig(text, 't.yaml');
  if (!r.ok) expect.unreachable(JSON.stringify(r.error));
  return r.ok ? r.value : expect.unreachable();
}

describe('defaults', () => {
  it('fills every section of a minimal file', () => {
    const c = ok('buses:\n  - { name: u, type: uart, port: /dev/ttyS0 }\n');
    expect(c).toEqual({
      stateDir: '/var/lib/mcubus',
      api: { socket: '/var/lib/mcubus/mcubusd.sock', socketMode: 0o660 },
      buses: [{ type: 'uart', name: 'u', port: '/dev/ttyS0', baud: 115_200, frame: '8N1' }],
      devices: [],
      services: {
        heartbeatTimeoutMs: 3000,
        timeSyncPeriodMs: 1000,
        requestTimeoutMs: 500,
        requestRetries: 3,
        traceRetainHours: 24,
      },
      updates: { trustedKeys: [], stallTimeoutS: 120, minProgressBytes: 32768 },
      log: { level: 'info' },
    });
  });

  it('puts the socket in the state directory and defaults the TCP host to loopback', () => {
    const c = ok(
      'stateDir: /srv/m/\napi: { tcp: { port: 7410 } }\nbuses: [{ name: u, type: uart, port: /dev/ttyS0 }]\n',
    );
    expect(c.api).toEqual({
      socket: '/srv/m/mcubusd.sock',
      socketMode: 0o660,
      tcp: { host: '127.0.0.1', port: 7410 },
    });
  });

  it('applies Modbus, CAN and sim defaults', () => {
    const c = ok(`simulator: { scenario: reference }
buses:
  - { name: m, type: modbus, port: /dev/ttyUSB1, devices: [{ slave: 1 }] }
  - { name: c, type: can, backend: socketcan, interface: vcan0 }
  - { name: s, type: can, backend: sim }
  - { name: uart0, type: sim }
`);
    expect(c.simulator).toEqual({ scenario: 'reference', seed: 1 });
    expect(c.buses).toEqual([
      {
        type: 'modbus',
        name: 'm',
        port: '/dev/ttyUSB1',
        baud: 19_200,
        frame: '8E1',
        devices: [{ slave: 1 }],
        registerProbes: [],
      },
      { type: 'can', name: 'c', backend: 'socketcan', interface: 'vcan0', bitrate: 500_000, fd: false },
      { type: 'can', name: 's', backend: 'sim', simBus: 's', bitrate: 500_000, fd: false },
      { type: 'sim', name: 'uart0', simBus: 'uart0' },
    ]);
  });

  it('accepts a token-less TCP listener on loopback and a plain-data document', () => {
    const r = validateConfig(
      { api: { tcp: { host: '::1', port: 1 } }, buses: [{ name: 'u', type: 'uart', port: '/dev/ttyS0' }] },
      'obj',
    );
    expect(r.ok).toBe(true);
  });
});

describe('loadConfig', () => {
  it('reads a file and names it in errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-config-'));
    const file = join(dir, 'board.yaml');
    writeFileSync(file, 'buses:\n  - { name: u, type: uart, port: /dev/ttyS0, baud: fast }\n');
    const r = await loadConfig(file);
    expect(r.ok ? [] : r.error).toEqual([
      {
        code: 'type',
        file,
        path: 'buses[0].baud',
        message: 'expected an integer, got string "fast"',
        line: 2,
        column: 46,
      },
    ]);
  });

  it('reports a missing file as an io error', async () => {
    const r = await loadConfig('/nonexistent/mcubus.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]).toMatchObject({ code: 'io', file: '/nonexistent/mcubus.yaml', path: '' });
  });
});
