import { describe, expect, it } from 'vitest';
import {
  Flash,
  type FlashError,
  layoutProblems,
  makeLayout,
  slotCapacity,
  slotLoadAddress,
} from '../src/flash/index.js';
import { ms, Sim, us } from '../src/kernel/index.js';

type Outcome = { at: number; ok: boolean; error?: FlashError };

function setup(seed = 1) {
  const sim = new Sim(seed);
  const flash = new Flash(sim, 'mcu', { sectorSize: 4096, sectorCount: 16 });
  const outcomes: Outcome[] = [];
  const done = (r: { ok: true } | { ok: false; error: FlashError }) =>
    outcomes.push(r.ok ? { at: sim.now, ok: true } : { at: sim.now, ok: false, error: r.error });
  return { sim, flash, outcomes, done };
}

const pattern = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i * 37) & 0x7f);

describe('flash timing', () => {
  it('erases a sector in 20 ms and is busy meanwhile', () => {
    const { sim, flash, outcomes, done } = setup();
    flash.factoryProgram(4096, pattern(4096));
    flash.erase(1, done);
    expect(flash.busy).toBe(true);
    expect(flash.busyUntil).toBe(ms(20));
    sim.runFor(ms(20) - 1);
    expect(outcomes).toEqual([]);
    expect(flash.isErased(4096, 4096)).toBe(false);
    sim.runFor(1);
    expect(outcomes).toEqual([{ at: ms(20), ok: true }]);
    expect(flash.isErased(4096, 4096)).toBe(true);
    expect(flash.busy).toBe(false);
    expect(flash.busyUntil).toBe(sim.now);
  });

  it('programs 8 bytes per 10 µs, reads are instant, and operations queue in issue order', () => {
    const { sim, flash, outcomes, done } = setup();
    const data = pattern(1024);
    flash.program(0, data, done); // 128 double words: 1.28 ms
    flash.erase(2, done); // starts after the program
    expect(flash.busyUntil).toBe(us(1280) + ms(20));
    sim.runFor(ms(30));
    expect(outcomes.map((o) => o.at)).toEqual([us(1280), us(1280) + ms(20)]);
    expect(flash.read(0, 1024)).toEqual(data);
    expect(flash.opsStarted).toBe(2);
    expect(flash.stats).toMatchObject({ erases: 1, programs: 1, unitsProgrammed: 128 });
  });
});

describe('write-once-before-erase rule', () => {
  it('refuses to program a double word that is not erased, keeps the ones before it, and counts it', () => {
    const { sim, flash, outcomes, done } = setup();
    flash.factoryProgram(16, Uint8Array.of(0xfe)); // one bit cleared in the third double word
    flash.program(0, pattern(32, 1), done);
    sim.runFor(ms(1));
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]!.ok).toBe(false);
    expect(outcomes[0]!.error).toMatchObject({ code: 'not_erased', op: 1, address: 16 });
    expect(outcomes[0]!.at).toBe(us(20)); // stopped after two double words
    expect(flash.read(0, 16)).toEqual(pattern(32, 1).subarray(0, 16));
    expect(flash.read(16, 16)).toEqual(Uint8Array.of(0xfe, ...new Array(15).fill(0xff)));
    expect(flash.errors.get('not_erased')).toBe(1);
  });

  it('accepts the same write again after an erase', () => {
    const { sim, flash, outcomes, done } = setup();
    flash.program(0, pattern(8), done);
    flash.program(0, pattern(8), done);
    flash.erase(0, done);
    flash.program(0, pattern(8, 3), done);
    sim.runFor(ms(25));
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
    expect(flash.read(0, 8)).toEqual(pattern(8, 3));
  });

  it('refuses misaligned and out-of-range requests without starting an operation', () => {
    const { sim, flash, outcomes, done } = setup();
    flash.program(4, pattern(8), done);
    flash.program(0, pattern(12), done);
    flash.program(16 * 4096 - 8, pattern(16), done);
    flash.erase(16, done);
    sim.runFor(1);
    expect(outcomes.map((o) => o.error?.code)).toEqual([
      'misaligned',
      'misaligned',
      'out_of_range',
      'out_of_range',
    ]);
    expect(flash.opsStarted).toBe(0);
    expect(flash.errors.snapshot()).toEqual({ misaligned: 2, out_of_range: 2 });
  });
});

describe('power cuts', () => {
  it('an interrupted erase leaves a mix of erased, old and random bytes, and nothing runs afterwards', () => {
    const { sim, flash, outcomes, done } = setup(7);
    const old = pattern(4096);
    flash.factoryProgram(8192, old);
    let cutAt = -1;
    flash.cutPowerAtOp(2, () => {
      cutAt = sim.now;
    });
    flash.program(0, pattern(8), done); // op 1
    flash.erase(2, done); // op 2: cut halfway
    flash.program(16, pattern(8), done); // lost with the power
    sim.runFor(ms(100));
    expect(cutAt).toBe(us(10) + ms(10));
    expect(outcomes).toHaveLength(1);
    expect(flash.opsStarted).toBe(2);
    expect(flash.powered).toBe(false);
    const after = flash.read(8192, 4096);
    const erased = after.filter((b) => b === 0xff).length;
    const unchanged = after.filter((b, i) => b === old[i]).length;
    // About a third each (old bytes are < 0x80, so never 0xFF).
    expect(erased).toBeGreaterThan(1000);
    expect(unchanged).toBeGreaterThan(1000);
    expect(4096 - erased - unchanged).toBeGreaterThan(1000);
    expect(flash.isErased(16, 8)).toBe(true);
    flash.program(24, pattern(8), done);
    sim.runFor(ms(1));
    expect(outcomes).toHaveLength(1);
    expect(flash.errors.get('powered_off')).toBe(1);
  });

  it('an interrupted program leaves a prefix written, one garbled double word, the rest erased', () => {
    const prefixes = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const { sim, flash, done } = setup(seed);
      const data = pattern(256, 5);
      flash.cutPowerAtOp(1, () => {});
      flash.program(0, data, done);
      sim.runFor(ms(1));
      const got = flash.read(0, 256);
      let prefix = 0;
      while (
        prefix < 32 &&
        got.subarray(prefix * 8, prefix * 8 + 8).every((b, i) => b === data[prefix * 8 + i])
      )
        prefix++;
      expect(prefix).toBeLessThan(32);
      expect(flash.isErased((prefix + 1) * 8, 256 - (prefix + 1) * 8)).toBe(true);
      prefixes.add(prefix);
    }
    expect(prefixes.size).toBeGreaterThan(5);
  });

  it('tears the same way for the same seed', () => {
    const run = () => {
      const { sim, flash, done } = setup(42);
      flash.factoryProgram(0, pattern(4096));
      flash.cutPowerAtOp(1, () => {});
      flash.erase(0, done);
      sim.runFor(ms(50));
      return flash.read(0, 4096);
    };
    expect(run()).toEqual(run());
  });

  it('powerLoss tears the running operation at once; powerOn makes the flash usable again', () => {
    const { sim, flash, outcomes, done } = setup(3);
    flash.erase(0, done);
    sim.runFor(ms(5));
    flash.powerLoss();
    expect(flash.stats.torn).toBe(1);
    sim.runFor(ms(50));
    expect(outcomes).toEqual([]);
    flash.powerOn();
    flash.erase(0, done);
    sim.runFor(ms(20));
    expect(outcomes).toEqual([{ at: ms(75), ok: true }]);
  });

  it('failWriteAtOp makes one operation report an error after its time, changing nothing', () => {
    const { sim, flash, outcomes, done } = setup();
    flash.failWriteAtOp(2);
    flash.program(0, pattern(8), done);
    flash.program(8, pattern(8), done);
    flash.program(16, pattern(8), done);
    sim.runFor(ms(1));
    expect(outcomes.map((o) => [o.at, o.ok, o.error?.code])).toEqual([
      [us(10), true, undefined],
      [us(20), false, 'injected'],
      [us(30), true, undefined],
    ]);
    expect(flash.isErased(8, 8)).toBe(true);
    expect(flash.errors.get('injected')).toBe(1);
  });
});

describe('flash layout', () => {
  it('places first stage, two bootloader slots, two boot-state sectors and two app slots', () => {
    const l = makeLayout();
    expect(l.firstStage).toEqual({ name: 'first-stage', firstSector: 0, sectorCount: 4 });
    expect(l.bootloaders.map((r) => r.firstSector)).toEqual([4, 12]);
    expect(l.bootState).toEqual({ name: 'boot-state', firstSector: 20, sectorCount: 2 });
    expect(l.apps).toEqual([
      { name: 'app-a', firstSector: 22, sectorCount: 53 },
      { name: 'app-b', firstSector: 75, sectorCount: 53 },
    ]);
    expect(slotCapacity(l, l.apps[0])).toBe(52 * 4096);
    expect(slotLoadAddress(l, l.apps[1])).toBe(0x0800_0000 + 76 * 4096);
    expect(layoutProblems(l)).toEqual([]);
  });

  it('reports overlaps and a boot-state area that is not two sectors', () => {
    const l = makeLayout();
    const bad = { ...l, bootState: { name: 'boot-state', firstSector: 19, sectorCount: 3 } };
    expect(layoutProblems(bad)).toEqual([
      'boot-state overlaps bl-b at sector 19',
      'boot-state must be exactly 2 sectors',
    ]);
  });
});
