import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertAvailable,
  commandAvailable,
  type Requirement,
  shouldSkip,
} from '../../test/support/requirements.js';

const cdir = join(import.meta.dirname, '../c');

function both(a: Requirement, b: Requirement): Requirement {
  return a.ok && b.ok
    ? a
    : {
        ok: false,
        reason: [a, b]
          .filter((r) => !r.ok)
          .map((r) => r.reason)
          .join('; '),
      };
}
const toolchain = both(
  commandAvailable('make', 'apt-get install make'),
  commandAvailable('gcc', 'apt-get install gcc; .ci/run installs it'),
);
const clang = commandAvailable('clang', 'apt-get install clang; .ci/run installs it');

/** Per-suite counts the C runners print: `SUITE <name> passed=<n> failed=<m>`. */
function suites(out: string): Record<string, { passed: number; failed: number }> {
  const r: Record<string, { passed: number; failed: number }> = {};
  for (const m of out.matchAll(/^SUITE (\S+) passed=(\d+) failed=(\d+)$/gm))
    r[m[1]!] = { passed: Number(m[2]), failed: Number(m[3]) };
  return r;
}

function make(args: string[], timeoutMs: number) {
  const r = spawnSync('make', ['-C', cdir, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/**
 * The C device library (protocol/c): strict builds with gcc and clang, its unit tests and every golden
 * vector in protocol/vectors/, all under AddressSanitizer and UBSan; and a bounded libFuzzer run of
 * the frame and stream decoders.
 */
describe.skipIf(shouldSkip(toolchain))('C device library', () => {
  it('passes its unit tests and every golden vector under ASan/UBSan', () => {
    assertAvailable(toolchain);
    const { status, out } = make(['check'], 170_000);
    const counts = suites(out);
    console.log(
      `C library: ${Object.entries(counts)
        .map(([name, c]) => `${name} ${c.passed} passed / ${c.failed} failed`)
        .join(', ')}`,
    );
    expect(status, out.slice(-3000)).toBe(0);
    expect(out).toContain('STRICT gcc ok');
    if (clang.ok) expect(out).toContain('STRICT clang ok');
    expect(out).toContain('CHECK ok (sanitizers: address,undefined)');
    // Every vector of each file runs (counts as in protocol/vectors/*.json; isotp: once per role).
    expect(counts.frame).toEqual({ passed: 43, failed: 0 });
    expect(counts.cobs).toEqual({ passed: 17, failed: 0 });
    expect(counts.isotp).toEqual({ passed: 54, failed: 0 });
    expect(counts.modbus).toEqual({ passed: 53, failed: 0 });
    // Unit suites (protocol/c/test): codec; device (incl. the update/gateway/CAN/CBOR regressions,
    // on an ECC-style fake flash that refuses to program a byte twice); small (MCUBUS_MAX_FRAME=64).
    expect(counts.codec).toEqual({ passed: 5, failed: 0 });
    expect(counts.device).toEqual({ passed: 21, failed: 0 });
    expect(counts.small).toEqual({ passed: 1, failed: 0 });
  }, 180_000);

  it.skipIf(shouldSkip(clang))(
    'survives a bounded libFuzzer run of the frame and stream decoders',
    () => {
      assertAvailable(clang);
      const { status, out } = make(['fuzz', 'FUZZ_SECONDS=20'], 170_000);
      expect(status, out.slice(-3000)).toBe(0);
      const runs = Number(/stat::number_of_executed_units:\s+(\d+)/.exec(out)?.[1] ?? 0);
      console.log(`C library fuzz: ${runs} executions in 20 s, no crash`);
      expect(runs).toBeGreaterThan(10_000);
    },
    180_000,
  );
});
