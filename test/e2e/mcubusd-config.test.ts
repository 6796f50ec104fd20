import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const daemon = join(import.meta.dirname, '../../host/src/mcubusd.ts');
const runDaemon = (args: string[]) =>
  spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', daemon, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });

describe('mcubusd configuration errors', () => {
  it('names the file, the line and the key of every problem, and exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcubus-cfg-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'stateDir: /tmp/x\nbuses:\n  - name: uart0\n    type: uart\n    port: /dev/ttyUSB0\n    baud: fast\n  - name: uart0\n    type: uart\n    prot: /dev/ttyUSB1\n',
    );
    const r = runDaemon(['--config', file]);
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('problem(s)');
    expect(r.stderr).toMatch(/bad\.yaml:6:\d+: buses\[0\]\.baud/);
    expect(r.stderr).toMatch(/buses\[1\]\.prot: unknown key/);
    expect(r.stderr).toMatch(/bus name "uart0" is used twice/);
  });

  it('explains a file that does not exist', () => {
    const r = runDaemon(['--config', '/nonexistent/mcubus.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('/nonexistent/mcubus.yaml');
  });
});
