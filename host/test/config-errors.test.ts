import { describe, expect, it } from 'vitest';
import { type ConfigError, formatConfigError } from '../src/config/errors.js';
import { parseConfig } from '../src/config/parse.js';
import { suggest } from '../src/config/suggest.js';

const UART = '{ name: u, type: uart, port: /dev/ttyS0 }';

/** Errors of `text` as [path, message] pairs, in the order reported. */
function errors(text: string): [string, string][] {
  const r = parseConfig(text, 'bad.yaml');
  if (r.ok) expect.unreachable('expected errors');
  return r.ok ? [] : r.error.map((e) => [e.path, e.message]);
}

function only(text: string): ConfigError {
  const r = parseConfig(text, 'bad.yaml');
  if (r.ok || r.error.length !== 1) expect.unreachable(JSON.stringify(r));
  return r.ok ? expect.unreachable() : r.error[0]!;
}

describe('YAML syntax errors', () => {
  it('give line and column', () => {
    expect(only('buses: [1,\nlog: 2\n')).toEqual({
      code: 'syntax',
      file: 'bad.yaml',
      path: '',
      message: 'Flow sequence in block collection must be sufficiently indented and end with a ]',
      line: 2,
      column: 1,
    });
  });

  it('reject a repeated key', () => {
    expect(only(`buses: [${UART}]\nlog: {}\nlog: {}\n`)).toMatchObject({
      code: 'syntax',
      line: 3,
      column: 1,
    });
  });
});

describe('validation errors', () => {
  it('bounds the update stall settings', () => {
    expect(errors(`buses: [${UART}]\nupdates: { stallTimeoutS: 2, minProgressBytes: 0 }\n`)).toEqual([
      ['updates.stallTimeoutS', 'must be between 5 and 86400, got 2'],
      ['updates.minProgressBytes', 'must be between 1 and 16777216, got 0'],
    ]);
    const r = parseConfig(`buses: [${UART}]\nupdates: { stallTimeoutS: 600 }\n`, 'ok.yaml');
    expect(r.ok && r.value.updates).toEqual({ trustedKeys: [], stallTimeoutS: 600, minProgressBytes: 32768 });
  });

  it('reports type errors with the key path and position', () => {
    const e = only(`buses:\n  - ${UART}\n  - { name: v, type: uart, port: /dev/ttyS1, baud: "fast" }\n`);
    expect(e).toMatchObject({ code: 'type', path: 'buses[1].baud', line: 3, column: 46 });
    expect(formatConfigError(e)).toBe('bad.yaml:3:46: buses[1].baud: expected an integer, got string "fast"');
  });

  it('reports ranges', () => {
    expect(
      errors(`buses:
  - { name: m, type: modbus, port: /dev/x, devices: [{ slave: 248 }],
      registerProbes: [{ slave: 1, function: 5, start: 65535, quantity: 2, expect: { min: 5, max: 1 } }] }
devices: [{ address: 0 }]
api: { socketMode: 0660, tcp: { port: 70000 } }
`),
    ).toEqual([
      ['api.socketMode', 'must be a file mode between 0o000 and 0o777 (write octal as 0o660), got 660'],
      ['api.tcp.port', 'must be between 1 and 65535, got 70000'],
      ['buses[0].devices[0].slave', 'must be between 1 and 247, got 248'],
      [
        'buses[0].registerProbes[0].function',
        'must be 3 (read holding registers) or 4 (read input registers), got 5',
      ],
      ['buses[0].registerProbes[0].quantity', 'start + quantity must not exceed 65536, got 65537'],
      ['buses[0].registerProbes[0].expect.min', 'min (5) must not exceed max (1)'],
      ['devices[0].address', 'must be between 1 and 254, got 0'],
    ]);
  });

  it('reports unknown keys with a suggestion when one is close', () => {
    expect(
      errors(`bus: []
buses:
  - { name: u, type: uart, port: /dev/ttyS0, baudrate: 9600, parity: even }
log: { Level: info }
`),
    ).toEqual([
      ['bus', 'unknown key (did you mean "buses"?)'],
      ['buses[0].baudrate', 'unknown key (did you mean "baud"?)'],
      ['buses[0].parity', 'unknown key'],
      ['log.Level', 'unknown key (did you mean "level"?)'],
    ]);
  });

  it('reports bad enum values with a suggestion', () => {
    expect(
      errors(`buses: [{ name: c, type: can, backend: socketcn, interface: can0 }]\nlog: { level: inf }\n`),
    ).toEqual([
      [
        'buses[0].backend',
        'must be one of socketcan, slcan, sim, got "socketcn" (did you mean "socketcan"?)',
      ],
      ['log.level', 'must be one of trace, debug, info, warn, error, got "inf" (did you mean "info"?)'],
    ]);
  });

  it('reports missing keys and shapes', () => {
    expect(
      errors(`buses:
  - { name: u, type: uart }
  - { name: 2x, type: uart, port: ttyS0, frame: 9N1 }
  - { type: modbus, port: /dev/x, devices: [] }
  - { name: s, type: can, backend: slcan, port: /dev/ttyACM0, bitrate: 83333, interface: can0 }
  - { name: n }
`),
    ).toEqual([
      ['buses[0].port', 'required key is missing'],
      [
        'buses[1].name',
        'expected a name of letters, digits, "_", "." or "-" starting with a letter, got "2x"',
      ],
      ['buses[2].name', 'required key is missing'],
      ['buses[3].interface', 'not used by the slcan backend'],
      [
        'buses[3].bitrate',
        'slcan supports only 10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000, 1000000, got 83333',
      ],
      ['buses[4].type', 'required key is missing'],
    ]);
  });

  it('reports a missing bus list and an empty one', () => {
    expect(errors('log: { level: info }\n')).toEqual([['buses', 'required key is missing']]);
    expect(errors('buses: []\n')).toEqual([['buses', 'at least one entry is required']]);
  });

  it('reports duplicate bus names, device addresses, device names and Modbus slaves', () => {
    expect(
      errors(`buses:
  - ${UART}
  - { name: u, type: modbus, port: /dev/x, devices: [{ slave: 3 }, { slave: 3 }] }
devices:
  - { address: 0x10, name: gw }
  - { address: 16, name: gw }
`),
    ).toEqual([
      ['buses[1].devices[1].slave', 'slave 3 is listed twice on this bus'],
      ['buses[1].name', 'bus name "u" is used twice'],
      ['devices[1].address', 'address 16 is used twice'],
      ['devices[1].name', 'device name "gw" is used twice'],
    ]);
  });

  it('reports references that resolve to nothing', () => {
    expect(
      errors(`buses:
  - ${UART}
  - { name: s, type: sim }
devices:
  - { address: 1, bus: nope }
  - { address: 2, via: 9 }
  - { address: 3, via: 3 }
  - { address: 4, bus: u, via: 1 }
`),
    ).toEqual([
      ['devices[3].via', 'set either bus (directly attached) or via (behind a gateway), not both'],
      ['buses[1].type', 'a simulated bus needs a top-level simulator section'],
      ['devices[0].bus', 'no bus is named "nope"'],
      ['devices[1].via', 'no device has address 9'],
      ['devices[2].via', 'a device cannot be its own gateway'],
    ]);
  });

  it('requires a token for a TCP listener on a non-loopback host', () => {
    const e = only(`api:\n  tcp: { host: 0.0.0.0, port: 7410 }\nbuses: [${UART}]\n`);
    expect(e).toEqual({
      code: 'missing',
      file: 'bad.yaml',
      path: 'api.tcp.token',
      message: 'a token is required when listening on non-loopback host 0.0.0.0',
      line: 2,
      column: 3,
    });
  });

  it('reports a document that is not a mapping', () => {
    expect(errors('- 1\n- 2\n')).toEqual([['', 'expected a mapping, got a list']]);
  });
});

describe('suggest', () => {
  it('matches typos, case and prefixes but not unrelated words', () => {
    expect(suggest('bitRate', ['bitrate', 'fd'])).toBe('bitrate');
    expect(suggest('devcies', ['devices'])).toBe('devices');
    expect(suggest('colour', ['baud', 'frame'])).toBeUndefined();
  });
});
