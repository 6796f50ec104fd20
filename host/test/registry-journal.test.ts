import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from '../src/registry/registry.js';
import { tempStateDir } from './registry-helpers.js';

let cleanup: () => void;
let dir: string;
let reg: Registry;
beforeEach(() => {
  ({ dir, cleanup } = tempStateDir());
  reg = Registry.open(dir);
});
afterEach(() => {
  reg.close();
  cleanup();
});

function fill(): number[] {
  return [
    reg.append({ atMs: 1000, kind: 'device.new', device: 5, severity: 'info', message: 'five' }),
    reg.append({ atMs: 2000, kind: 'device.new', device: 6, severity: 'info', message: 'six' }),
    reg.append({
      atMs: 3000,
      kind: 'update.done',
      device: 5,
      bus: 'can0',
      severity: 'warning',
      message: 'five updated',
      data: { from: '1.0.0', to: '1.1.0' },
    }),
    reg.append({ atMs: 4000, kind: 'bus.error', bus: 'uart0', severity: 'error', message: 'framing' }),
  ];
}

describe('event journal', () => {
  it('returns increasing ids and the newest entries first', () => {
    const ids = fill();
    expect(ids[1]).toBeGreaterThan(ids[0] as number);
    expect(reg.query({ limit: 2 }).map((e) => e.message)).toEqual(['framing', 'five updated']);
    const [updated] = reg.query({ kind: 'update.done' });
    expect(updated).toEqual({
      id: ids[2],
      atMs: 3000,
      kind: 'update.done',
      device: 5,
      bus: 'can0',
      severity: 'warning',
      message: 'five updated',
      data: { from: '1.0.0', to: '1.1.0' },
    });
  });

  it('filters by device and kind', () => {
    fill();
    expect(reg.query({ device: 5 }).map((e) => e.message)).toEqual(['five updated', 'five']);
    expect(reg.query({ device: 5, kind: 'device.new' }).map((e) => e.message)).toEqual(['five']);
    expect(reg.query({ device: 99 })).toEqual([]);
  });

  it('follows: entries after an id, oldest first', () => {
    const ids = fill();
    expect(reg.query({ sinceId: ids[1] as number }).map((e) => e.id)).toEqual([ids[2], ids[3]]);
    const next = reg.append({ atMs: 5000, kind: 'x', severity: 'debug', message: 'later' });
    expect(reg.query({ sinceId: ids[3] as number, limit: 10 }).map((e) => e.id)).toEqual([next]);
    expect(reg.query({ sinceId: next })).toEqual([]);
  });

  it('prunes by age and never reuses ids', () => {
    const ids = fill();
    expect(reg.prune({ olderThanMs: 3000 })).toBe(2);
    expect(reg.query().map((e) => e.atMs)).toEqual([4000, 3000]);
    expect(reg.prune({ olderThanMs: 10_000 })).toBe(2);
    const id = reg.append({ atMs: 11_000, kind: 'x', severity: 'info', message: 'after prune' });
    expect(id).toBeGreaterThan(ids[3] as number);
  });
});
