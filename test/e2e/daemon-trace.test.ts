import { buildBoard, referenceBoard } from '@mcubus/firmware-sim';
import type { TraceRecord } from '@mcubus/host';
import { afterEach, describe, expect, it } from 'vitest';
import { advance, daemonOn, settle, stateDirs } from '../support/sim-daemon.js';

/** The reference board with `drop` of the frames on can0 (behind the gateway) never reaching their receivers. */
function lossyBoard(drop: number, seed: number) {
  const spec = referenceBoard();
  return buildBoard(
    { ...spec, buses: spec.buses.map((b) => (b.name === 'can0' ? { ...b, faults: [{ drop }] } : b)) },
    seed,
  );
}

describe('message tracing (issue 8): every failure placed on its hop', () => {
  const dirs = stateDirs('mcubus-trace-');
  afterEach(dirs.cleanup);

  it('with 5 % loss on the CAN bus behind the gateway, names hop and cause of every lost request copy (≥ 1 000 requests)', async () => {
    const board = lossyBoard(0.05, 11);
    // Two attempts per request: many retries to place, and some requests that fail outright.
    const { daemon, registry } = daemonOn(board, dirs.make(), { requestRetries: 1 });
    // What really reached each node behind the gateway: copies per request seq (the ground truth).
    const received = new Map<string, number>();
    for (const name of ['node-a', 'node-b']) {
      board.mcus.get(name)!.onReceived((h) => {
        if (h.src !== 0 || h.response) return;
        const k = `${h.dst}:${h.seq}`;
        received.set(k, (received.get(k) ?? 0) + 1);
      });
    }
    await daemon.start();
    await advance(board, 5);
    const results: { ok: boolean }[] = [];
    for (let round = 0; round < 300; round++) {
      // Four at a time, to both nodes, like a busy daemon.
      const batch = [0x21, 0x22, 0x21, 0x22].map((a) => daemon.request(a, { type: 'ping', body: {} }, 300));
      results.push(...(await settle(board, Promise.all(batch), 60_000)));
    }
    await advance(board, 8); // the gateway's log of the last ones is fetched
    const traces = daemon
      .traces({ limit: 100_000 })
      .filter((t) => t.dir === 'out' && t.type === 'ping' && (t.dst === 0x21 || t.dst === 0x22));
    // Ours, and the health monitor's own pings of nodes it missed heartbeats from.
    expect(traces.length).toBeGreaterThanOrEqual(1200);
    const failed = traces.filter((t) => t.outcome !== 'answered');
    const retried = traces.filter((t) => t.attempts > 1);
    expect(failed.length).toBeGreaterThanOrEqual(results.filter((r) => !r.ok).length);
    expect(failed.length).toBeGreaterThan(10);
    expect(retried.length).toBeGreaterThan(100);

    const placed = (t: TraceRecord) => t.losses.reduce((n, l) => n + l.count, 0);
    const tally = {
      request: 0,
      answer: 0,
      unknown: 0,
      late: 0,
      wrong: 0,
      answeredKnown: 0,
      answeredUnknown: 0,
    };
    for (const t of [...failed, ...retried]) {
      // 100 % attribution: a hop and a cause for the trace, and every lost copy on a hop.
      expect(t.hop, `trace ${t.id}`).toMatch(
        /^(can0 0x(10|21|22)|uart0 (host|0x10))[→↔](0x(10|21|22)|host)$/,
      );
      expect(t.cause, `trace ${t.id}`).toBeTruthy();
      expect(placed(t), `trace ${t.id}`).toBe(t.attempts - (t.outcome === 'answered' ? 1 : 0));
      // Only can0 loses here (uart0 is clean, though it can be slow: a late answer may be placed there).
      for (const l of t.losses) if (!l.late) expect(l.hop, `trace ${t.id}`).toMatch(/^can0 /);
      // Directions against the truth: how many copies really reached the node.
      const reached = received.get(`${t.dst}:${t.seq}`) ?? 0;
      const lost = t.losses.filter((l) => !l.late);
      const count = (d: string) => lost.filter((l) => l.direction === d).reduce((n, l) => n + l.count, 0);
      const wrong =
        count('request') > t.attempts - reached ||
        count('answer') > reached - (t.outcome === 'answered' ? 1 : 0);
      if (wrong) tally.wrong++;
      tally.request += count('request');
      tally.answer += count('answer');
      tally.unknown += count('unknown');
      if (t.outcome === 'answered') {
        tally.answeredKnown += count('request') + count('answer');
        tally.answeredUnknown += count('unknown');
      }
      tally.late += t.losses.filter((l) => l.late).reduce((n, l) => n + l.count, 0);
    }
    if (process.env.TRACE_DEBUG) {
      console.log(tally, 'failed', failed.length, 'retried', retried.length);
      const unk = [...failed, ...retried].filter((t) =>
        t.losses.some((l) => l.direction === 'unknown' && !l.late),
      );
      const byShape = new Map<string, number>();
      for (const t of unk) {
        const k = `${t.outcome} a${t.attempts} hops:${t.hops.map((h) => (h.node === 'host' ? 'H' : 'G') + h.event[0] + (h.what.includes('copy') ? 'c' : '')).join(',')}`;
        byShape.set(k, (byShape.get(k) ?? 0) + 1);
      }
      console.log([...byShape].sort((a, b) => b[1] - a[1]).slice(0, 12));
    }
    // A direction is inferred from evidence, never guessed: wrong for at most 1 % of the traces (a
    // slow answer to an earlier copy that looks like a prompt answer to a later one). Without any
    // answer it stays open; once an answer came, most lost copies get one.
    expect(tally.wrong).toBeLessThanOrEqual(Math.ceil(0.01 * (failed.length + retried.length)));
    expect(tally.answeredKnown).toBeGreaterThan(tally.answeredUnknown);
    // The path of one retried request, hop by hop on the host timeline.
    const one = daemon.trace(retried[0]!.id)!;
    expect(one.hops.map((h) => `${h.node === 'host' ? 'host' : h.node.toString(16)} ${h.event}`)).toContain(
      '10 forwarded',
    );
    expect(one.hops.every((h) => Number.isFinite(h.atUs))).toBe(true);
    await daemon.stop();
    registry.close();
  }, 120_000);

  it('places a loss on the UART between host and gateway from the gateway having no record of it', async () => {
    // What the host writes on uart0 during the millisecond after t = 5 s is lost on the line.
    const spec = referenceBoard();
    const board = buildBoard(
      {
        ...spec,
        buses: spec.buses.map((b) =>
          b.name === 'uart0' ? { ...b, faults: [{ sender: 'host', drop: 1, from: 5e9, until: 5.001e9 }] } : b,
        ),
      },
      3,
    );
    const { daemon, registry } = daemonOn(board, dirs.make(), { requestRetries: 1 });
    await daemon.start();
    await advance(board, 5);
    expect(board.sim.now).toBe(5e9);
    const r = await settle(board, daemon.request(0x21, { type: 'ping', body: {} }, 300), 10_000);
    expect(r.ok).toBe(true);
    await advance(board, 3);
    const t = daemon.traces({ device: 0x21, problems: true, limit: 10 }).find((x) => x.type === 'ping')!;
    expect(t.attempts).toBe(2);
    expect(t.losses).toEqual([
      {
        hop: 'uart0 host–0x10',
        direction: 'request',
        count: 1,
        cause: 'never reached gateway 0x10 (lost on uart0)',
      },
    ]);
    expect(t.hop).toBe('uart0 host→0x10');
    await daemon.stop();
    registry.close();
  });
});
