import { buildBoard, NS_PER_S, referenceBoard } from '@mcubus/firmware-sim';
import { describe, expect, it } from 'vitest';
import { ScriptedHost } from '../support/scripted-host.js';

/** Runs the reference board with line impairments and a host doing time sync; returns the trace digest. */
function run(seed: number): { digest: string; records: string[]; events: number } {
  const spec = referenceBoard();
  const board = buildBoard(
    {
      ...spec,
      buses: spec.buses.map((b) =>
        b.kind === 'uart'
          ? { ...b, bitErrorRate: 1e-5 }
          : b.kind === 'can'
            ? { ...b, faults: [{ corrupt: 0.01 }] }
            : b,
      ),
    },
    seed,
  );
  const host = new ScriptedHost(board);
  const records: string[] = [];
  board.sim.trace.onRecord((r) => records.push(`${r.t}|${r.source}|${r.event}|${r.detail ?? ''}`));
  const sync = () => {
    for (const dst of [0x10, 0x21, 0x22, 0x30])
      host.send(dst, { type: 'time_sync_req', body: { t1: Math.round(board.sim.now / 1000) } });
    board.sim.scheduler.after(NS_PER_S, sync);
  };
  board.sim.scheduler.at(0.5 * NS_PER_S, sync);
  board.sim.runFor(20 * NS_PER_S);
  return { digest: board.sim.trace.digest(), records, events: board.sim.scheduler.executed };
}

describe('determinism', () => {
  it('gives a byte-identical trace for the same seed, and a different one for another seed', () => {
    const a = run(7);
    const b = run(7);
    const c = run(8);
    expect(a.records.length).toBeGreaterThan(1000);
    // Byte-identical: every record, in order, not only the digest.
    expect(b.records.join('\n') === a.records.join('\n')).toBe(true);
    expect(b.digest).toBe(a.digest);
    expect(b.events).toBe(a.events);
    expect(c.digest).not.toBe(a.digest);
    expect(c.records.join('\n') === a.records.join('\n')).toBe(false);
  });
});
