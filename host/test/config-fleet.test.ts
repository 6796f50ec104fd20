import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatConfigError } from '../src/config/errors.js';
import { defaultEdgeNodeId } from '../src/config/fleet.js';
import { parseConfig } from '../src/config/parse.js';

const BASE = 'buses: [{ name: u, type: uart, port: /dev/ttyUSB0, baud: 115200 }]\n';

function docExample(name: string): string {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const at = doc.indexOf(`<!-- example: ${name}`);
  const match = /```yaml\n([\s\S]*?)```/.exec(doc.slice(at));
  if (at < 0 || !match) expect.unreachable(`example ${name} not found`);
  return match![1]!;
}

const errors = (yaml: string) => {
  const r = parseConfig(BASE + yaml, 'f.yaml');
  return r.ok ? [] : r.error.map(formatConfigError);
};

describe('fleet configuration', () => {
  it('reads the documented example', () => {
    const r = parseConfig(BASE + docExample('fleet'), 'f.yaml');
    expect(r.ok && r.value.fleet).toEqual({
      broker: 'mqtts://broker.plant.example:8883',
      groupId: 'line-3',
      edgeNodeId: 'board-17',
      username: 'board-17',
      password: 'change-me',
      tls: { ca: '/etc/mcubus/broker-ca.pem' },
      publishEveryMs: 1000,
    });
  });

  it('is off without the section, and defaults the ids', () => {
    const off = parseConfig(BASE, 'f.yaml');
    expect(off.ok && 'fleet' in off.value).toBe(false);
    const on = parseConfig(`${BASE}fleet: { broker: 'mqtt://127.0.0.1:1883/' }\n`, 'f.yaml');
    expect(on.ok && on.value.fleet).toEqual({
      broker: 'mqtt://127.0.0.1:1883',
      groupId: 'mcubus',
      edgeNodeId: defaultEdgeNodeId(),
      publishEveryMs: 1000,
    });
  });

  it('reports each bad setting with its line', () => {
    expect(errors('fleet: { groupId: a }\n')).toEqual(['f.yaml:2:1: fleet.broker: required key is missing']);
    expect(
      errors(
        'fleet:\n  broker: http://x\n  groupId: a/b\n  edgeNodeId: "n#1"\n  password: p\n  tls: { cert: c.pem }\n  publishEveryMs: 5\n',
      ),
    ).toEqual([
      'f.yaml:3:3: fleet.broker: expected mqtt://host[:port] or mqtts://host[:port], got "http://x"',
      "f.yaml:4:3: fleet.groupId: expected an id without '/', '+', '#' or spaces (a single topic level), got \"a/b\"",
      "f.yaml:5:3: fleet.edgeNodeId: expected an id without '/', '+', '#' or spaces (a single topic level), got \"n#1\"",
      'f.yaml:6:3: fleet.password: a password needs a username',
      'f.yaml:7:3: fleet.tls.key: cert and key go together',
      'f.yaml:8:3: fleet.publishEveryMs: must be between 100 and 3600000, got 5',
    ]);
    expect(errors('fleet: { broker: "mqtt://h", tls: { ca: ca.pem } }\n')).toEqual([
      'f.yaml:2:30: fleet.tls: tls settings need an mqtts:// broker',
    ]);
  });
});
