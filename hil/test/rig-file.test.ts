import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRig, parseRig, RigFileError } from '../src/index.js';

const RIG_DIR = join(import.meta.dirname, '../rigs/sim');

function problems(text: string): string[] {
  try {
    parseRig(text, '/rigs/bench.yaml', '/tmp/work');
  } catch (e) {
    expect(e).toBeInstanceOf(RigFileError);
    return (e as RigFileError).message.split('\n');
  }
  throw new Error('parsed without errors');
}

describe('the rig file', () => {
  it('reads the CI rig: processes, devices with routes and power, suite settings, work and rig variables', () => {
    const rig = loadRig(join(RIG_DIR, 'rig.yaml'), '/tmp/w1');
    expect(rig.name).toBe('sim-two-boards');
    expect(rig.dir).toBe(RIG_DIR);
    expect(rig.processes.map((p) => p.name)).toEqual(['board', 'solo']);
    expect(rig.processes[0]!.command).toContain('/tmp/w1/board');
    expect(rig.processes[0]!.ready).toEqual({ stdout: /"ready":true/ });
    expect(rig.devices.map((d) => [d.address, d.hardwareId, d.bus, d.via, d.power])).toEqual([
      [0x10, 'hil-gw', 'board-uart', null, { kind: 'process', process: 'board' }],
      [0x21, 'hil-node', 'board-uart', 0x10, { kind: 'process', process: 'board' }],
      [0x31, 'hil-solo', 'solo-uart', null, { kind: 'process', process: 'solo' }],
    ]);
    const buses = rig.daemon.config.buses as { port: string }[];
    expect(buses[0]!.port).toBe('/tmp/w1/board/uart0');
    expect(rig.update).toMatchObject({ devices: [0x21], trialMs: 500, powerCuts: 2 });
    expect(rig.update.images).toEqual({
      kind: 'generate',
      key: 'simulator',
      sizeKiB: 16,
      crashVersion: '9.0.0',
    });
    expect(rig.time).toEqual({ settleS: 30, watchS: 3, maxBoundUs: 1000 });
    // Unset settings take the defaults.
    expect(rig.health).toEqual({ maxUpS: 15, maxDownPeriods: 2.5 });
    expect(rig.soak).toEqual({ durationS: 3600, sampleEveryS: 1, maxPingLoss: 0.01 });
  });

  it('takes power switch commands and a daemon config file, relative to the rig file', () => {
    const rig = parseRig(
      `daemon: { configFile: ${join(RIG_DIR, 'rig.yaml')} }
devices:
  - address: 0x21
    hardwareId: motor-v2
    bus: can0
    via: 0x10
    power: { off: "relay 3 off", on: "relay 3 on", unplug: { off: "hub 2 off", on: "hub 2 on" } }
update:
  images: { files: { motor-v2: { first: a.bin, second: b.bin, crashing: bad.bin } } }
`,
      '/rigs/bench.yaml',
      '/tmp/work',
    );
    expect(rig.devices[0]!.power).toEqual({
      kind: 'commands',
      off: 'relay 3 off',
      on: 'relay 3 on',
      unplug: { off: 'hub 2 off', on: 'hub 2 on' },
    });
    expect(rig.daemon.command).toEqual(['mcubusd']);
    expect(rig.daemon.config.name).toBe('sim-two-boards');
    const images = rig.update.images;
    expect(images?.kind === 'files' && images.byHardwareId.get('motor-v2')).toEqual({
      first: '/rigs/a.bin',
      second: '/rigs/b.bin',
      crashing: '/rigs/bad.bin',
    });
  });

  it('reports every problem at once, each at its file:line:col', () => {
    expect(
      problems(`name: bench
daemon:
  config: { buses: [] }
  comand: [mcubusd]
processes:
  - name: sim
    command: [sim, --pty-dir, "\${wrk}/x"]
    ready: { stdout: "(" }
devices:
  - { address: 0x21, hardwareId: n, bus: b, power: { process: simm } }
  - { address: 300, hardwareId: n, bus: b }
  - { address: 0x21, bus: b }
time: { maxBoundUs: -3 }
update: { devices: [0x40], images: { generate: { key: simulator, crashVersion: nine } } }
`),
    ).toEqual([
      '/rigs/bench.yaml:4:3: daemon.comand: unknown key (did you mean "command"?)',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the rig file's own ${…} syntax
      '/rigs/bench.yaml:7:31: processes[0].command[2]: unknown variable ${wrk} (known: ${work}, ${rig})',
      '/rigs/bench.yaml:8:14: processes[0].ready.stdout: not a regular expression: Invalid regular expression: /(/: Unterminated group',
      '/rigs/bench.yaml:11:7: devices[1].address: must be between 1 and 254, got 300',
      '/rigs/bench.yaml:12:5: devices[2].hardwareId: required key is missing',
      '/rigs/bench.yaml:13:9: time.maxBoundUs: must be greater than 0, got -3',
      '/rigs/bench.yaml:14:66: update.images.generate.crashVersion: expected a version like 9.0.0, got "nine"',
      '/rigs/bench.yaml:10:54: devices[0].power.process: no process named "simm" (processes: sim)',
      "/rigs/bench.yaml:14:21: update.devices[0]: 0x40 is not one of the rig's devices",
    ]);
  });

  it('says a YAML syntax error and an unreadable file where they are', () => {
    expect(problems('daemon: [\ndevices: 3\n')[0]).toMatch(/^\/rigs\/bench\.yaml:\d+:\d+: /);
    expect(() => loadRig('/nonexistent/rig.yaml', '/tmp/w')).toThrow(
      /\/nonexistent\/rig\.yaml: cannot read rig file: ENOENT/,
    );
  });
});
