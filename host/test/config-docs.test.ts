import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_DEFAULT_YAML, embeddedDefaultConfig } from '../src/config/default.js';
import { parseConfig } from '../src/config/parse.js';

/** The yaml block that follows `<!-- example: NAME` in the doc, so the doc cannot drift from the code. */
function docExample(name: string): string {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const at = doc.indexOf(`<!-- example: ${name}`);
  const match = /```yaml\n([\s\S]*?)```/.exec(doc.slice(at));
  if (at < 0 || !match) expect.unreachable(`example ${name} not found`);
  return match![1]!;
}

describe('configuration examples', () => {
  it('parses the real-board example to the expected configuration', () => {
    const r = parseConfig(docExample('real-board'), 'real-board.yaml');
    expect(r).toEqual({
      ok: true,
      value: {
        stateDir: '/var/lib/mcubus',
        api: {
          socket: '/run/mcubus/mcubusd.sock',
          socketMode: 0o660,
          tcp: { host: '0.0.0.0', port: 7410, token: 'change-me-long-random-token' },
        },
        buses: [
          { type: 'uart', name: 'gw-uart', port: '/dev/ttyUSB0', baud: 921_600, frame: '8N1' },
          { type: 'can', name: 'can0', backend: 'slcan', port: '/dev/ttyACM0', bitrate: 500_000, fd: false },
          {
            type: 'modbus',
            name: 'rs485',
            port: '/dev/ttyUSB1',
            baud: 19_200,
            frame: '8E1',
            devices: [{ slave: 7, address: 0x30 }],
            registerProbes: [
              { slave: 20, function: 4, start: 0, quantity: 2, expect: { min: 0, max: 25_000 } },
            ],
          },
        ],
        devices: [
          { address: 0x10, name: 'gw', bus: 'gw-uart' },
          { address: 0x21, name: 'node-a', via: 0x10 },
          { address: 0x22, name: 'node-b', bus: 'can0' },
          { address: 0x30, name: 'node-m', bus: 'rs485' },
        ],
        services: {
          heartbeatTimeoutMs: 2000,
          timeSyncPeriodMs: 1000,
          requestTimeoutMs: 500,
          requestRetries: 3,
          traceRetainHours: 24,
        },
        updates: {
          trustedKeys: ['/etc/mcubus/release.pub.pem'],
          stallTimeoutS: 120,
          minProgressBytes: 32768,
        },
        log: { level: 'info' },
      },
    });
  });

  it('shows the embedded default exactly as the code embeds it', () => {
    expect(docExample('embedded-default')).toBe(EMBEDDED_DEFAULT_YAML);
  });
});

describe('embedded default', () => {
  it('is a valid configuration equal to embeddedDefaultConfig()', () => {
    expect(parseConfig(EMBEDDED_DEFAULT_YAML, '<embedded>')).toEqual({
      ok: true,
      value: embeddedDefaultConfig(),
    });
  });

  it('describes the simulated reference board', () => {
    const c = embeddedDefaultConfig();
    expect(c.stateDir).toBe('./.mcubus-state');
    expect(c.api.socket).toBe('./.mcubus-state/mcubusd.sock');
    expect(c.simulator).toEqual({ scenario: 'reference', seed: 1 });
    // referenceBoard(): the host is on uart0 and rs485; gw 0x10, node-a 0x21, node-b 0x22, node-m 0x30.
    expect(c.buses.map((b) => [b.type, b.name])).toEqual([
      ['sim', 'uart0'],
      ['sim', 'rs485'],
    ]);
    expect(c.devices.map((d) => d.address)).toEqual([0x10, 0x21, 0x22, 0x30]);
  });
});
