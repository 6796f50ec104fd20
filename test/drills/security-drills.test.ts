import { describe, expect, it } from 'vitest';
import { DRILL_BOUNDS, type DrillResult, runDrills } from './run.js';

/**
 * The security drills (docs/reliability.md "Security drills"), all of them, in CI: every threat is
 * refused or detected on the host and on the device, with the journal entry that names it.
 */
describe('security drills: Uptane-style threats to a primary updating a secondary', () => {
  let results: DrillResult[] = [];
  const of = (t: DrillResult['threat']) => results.find((r) => r.threat === t)!;

  it('runs every drill', async () => {
    results = await runDrills(1);
    expect(results.map((r) => r.threat)).toEqual([
      'unsigned',
      'wrong_key',
      'tampered_byte',
      'wrong_hardware',
      'rollback',
      'mix_and_match',
      'endless_data',
      'slow_retrieval',
      'freeze',
    ]);
  }, 120_000);

  it('the host refuses every forged, foreign, replayed or oversized image before opening a session', () => {
    const refusals = Object.fromEntries(
      results.filter((r) => r.host.outcome === 'refused').map((r) => [r.threat, r.host.code]),
    );
    expect(refusals).toEqual({
      unsigned: 'signature_invalid',
      wrong_key: 'signature_invalid',
      tampered_byte: 'hash_mismatch',
      wrong_hardware: 'hardware_mismatch',
      rollback: 'rollback',
      mix_and_match: 'hash_mismatch',
      endless_data: 'size_mismatch',
    });
    for (const t of Object.keys(refusals)) {
      expect(of(t as DrillResult['threat']).host.event).toMatch(/^update\.refused: 0x21: update refused \(/);
      expect(of(t as DrillResult['threat']).host.note).toMatch(/^no session opened on the device/);
    }
  });

  it('the device refuses the same threats when a compromised gateway slips them past the host', () => {
    const device = Object.fromEntries(results.map((r) => [r.threat, [r.device.outcome, r.device.code]]));
    expect(device).toMatchObject({
      unsigned: ['detected', 'signature_invalid'],
      wrong_key: ['detected', 'signature_invalid'],
      tampered_byte: ['detected', 'hash_mismatch'],
      wrong_hardware: ['detected', 'hardware_mismatch'],
      rollback: ['detected', 'downgrade_rejected'],
      mix_and_match: ['detected', 'hash_mismatch'],
      endless_data: ['detected', 'bad_offset'],
    });
    // The daemon's update.failed entry carries the device's own code as its reason.
    for (const t of [
      'unsigned',
      'wrong_key',
      'tampered_byte',
      'wrong_hardware',
      'rollback',
      'mix_and_match',
    ] as const)
      expect(of(t).device.note).toContain(`(reason device:${of(t).device.code})`);
    // Nothing beyond the signed size is taken, and the genuine image still goes in whole.
    expect(of('endless_data').device.note).toMatch(/^update done; 40960\/40960 bytes acknowledged/);
  });

  it('slow retrieval and freeze are detected within the configured bounds, on both sides', () => {
    for (const t of ['slow_retrieval', 'freeze'] as const) {
      const r = of(t);
      expect(r.host.outcome, t).toBe('detected');
      expect(r.host.afterS, t).toBeLessThanOrEqual(DRILL_BOUNDS.hostStallS + 1);
      expect(r.device.outcome, t).toBe('detected');
      expect(r.device.code, t).toBe('stalled');
      // From the start of the update; the device's bound runs from its session's start or last chunk.
      expect(r.device.afterS, t).toBeLessThanOrEqual(DRILL_BOUNDS.deviceIdleS + 2);
    }
    // A drip keeps every timeout short of failing: only the progress bound ends it.
    expect(of('slow_retrieval').host.code).toBe('stalled');
    expect(of('slow_retrieval').host.afterS).toBeGreaterThanOrEqual(DRILL_BOUNDS.hostStallS);
  });
});
