import { err, ok, type Result } from '@mcubus/protocol';
import type { FlashError } from '../flash/errors.js';
import type { Flash } from '../flash/flash.js';
import { type FlashLayout, regionOffset } from '../flash/layout.js';
import {
  type BootState,
  type BootStatePatch,
  decodeBootRecord,
  EMPTY_BOOT_STATE,
  encodeBootRecord,
  RECORD_BYTES,
  sameBootState,
} from './state-record.js';

type Done = (result: Result<BootState, FlashError>) => void;

interface Pending {
  readonly patch: (s: BootState) => BootStatePatch;
  readonly done: Done;
}

export interface StoreLoadReport {
  readonly validRecords: number;
  /** Record places that are neither blank nor valid: torn writes, torn erases. */
  readonly garbage: number;
}

/**
 * Power-safe persistent state: an append-only log of full-snapshot records in two sectors (ping-pong).
 *
 * - A write programs the next blank record place of the active sector. A torn write leaves garbage
 *   there (bad magic or CRC) that load() skips: the previous record stays in force.
 * - When the active sector is full, the other one is erased and the new record becomes its first. A
 *   torn erase or a torn first record leaves the full sector, and its newest record, untouched.
 * - load() takes the valid record with the highest sequence number, in either sector.
 *
 * Writes are queued and applied one at a time, each patch seeing the state the previous one left.
 */
export class BootStateStore {
  #state: BootState = EMPTY_BOOT_STATE;
  /** Sector (0 or 1 within the boot-state region) holding the newest record, or null if none. */
  #active: 0 | 1 | null = null;
  #next = 0;
  readonly #queue: Pending[] = [];
  #busy = false;
  #epoch = 0;
  readonly stats = { writes: 0, compactions: 0, failures: 0, skipped: 0 };

  constructor(
    readonly flash: Flash,
    readonly layout: FlashLayout,
  ) {
    this.load();
  }

  get state(): BootState {
    return this.#state;
  }

  get recordsPerSector(): number {
    return Math.floor(this.layout.sectorSize / RECORD_BYTES);
  }

  /** How long the next write will keep the flash busy (a compaction adds an erase). */
  nextWriteNs(): number {
    const program = (RECORD_BYTES / this.flash.config.writeUnit) * this.flash.config.programNsPerUnit;
    const compaction = this.#active === null || this.#next >= this.recordsPerSector;
    return program + (compaction ? this.flash.config.eraseNsPerSector : 0);
  }

  /** Rebuilds the RAM copy from flash (power-on) and forgets queued writes. */
  load(): StoreLoadReport {
    this.powerOff();
    let best: { state: BootState; sector: 0 | 1 } | null = null;
    let validRecords = 0;
    let garbage = 0;
    const lastUsed: [number, number] = [-1, -1];
    for (const sector of [0, 1] as const) {
      for (let i = 0; i < this.recordsPerSector; i++) {
        const rec = decodeBootRecord(this.flash.read(this.#offset(sector, i), RECORD_BYTES));
        if (!rec.ok) {
          if (rec.problem !== 'blank') {
            garbage++;
            lastUsed[sector] = i;
          }
          continue;
        }
        validRecords++;
        lastUsed[sector] = i;
        if (best === null || rec.state.seq > best.state.seq) best = { state: rec.state, sector };
      }
    }
    this.#state = best?.state ?? EMPTY_BOOT_STATE;
    this.#active = best?.sector ?? null;
    this.#next = best ? lastUsed[best.sector]! + 1 : 0;
    return { validRecords, garbage };
  }

  /** Appends a record with `patch` applied to the state current when the write starts. */
  update(patch: (s: BootState) => BootStatePatch, done: Done): void {
    this.#queue.push({ patch, done });
    this.#run();
  }

  /** RAM is gone: queued writes are dropped and callbacks of writes in flight are ignored. */
  powerOff(): void {
    this.#epoch++;
    this.#queue.length = 0;
    this.#busy = false;
  }

  #run(): void {
    if (this.#busy) return;
    const item = this.#queue.shift();
    if (!item) return;
    this.#busy = true;
    const next: BootState = { ...this.#state, ...item.patch(this.#state), seq: this.#state.seq + 1 };
    const epoch = this.#epoch;
    const finish = (result: Result<BootState, FlashError>) => {
      if (epoch !== this.#epoch) return;
      this.#busy = false;
      if (!result.ok) this.stats.failures++;
      item.done(result);
      this.#run();
    };
    if (sameBootState(next, this.#state)) {
      // Nothing would change: save the flash a write (and the power-cut window one more operation opens).
      this.stats.skipped++;
      this.flash.sim.scheduler.after(0, () => finish(ok(this.#state)));
      return;
    }
    const bytes = encodeBootRecord(next);
    if (this.#active !== null && this.#next < this.recordsPerSector) {
      const sector = this.#active;
      const index = this.#next;
      // Whatever happens, this place is used now: a failed or torn record must not be overwritten.
      this.#next = index + 1;
      this.flash.program(this.#offset(sector, index), bytes, (r) => {
        if (epoch !== this.#epoch) return;
        if (!r.ok) return finish(err(r.error));
        this.#state = next;
        this.stats.writes++;
        finish(ok(next));
      });
      return;
    }
    this.#compactInto(this.#active === null ? 0 : this.#active === 0 ? 1 : 0, next, bytes, epoch, finish);
  }

  /** Starts a fresh sector: erase it (unless blank), then write the snapshot as its first record. */
  #compactInto(
    sector: 0 | 1,
    next: BootState,
    bytes: Uint8Array,
    epoch: number,
    finish: (r: Result<BootState, FlashError>) => void,
  ): void {
    const write = () => {
      this.flash.program(this.#offset(sector, 0), bytes, (r) => {
        if (epoch !== this.#epoch) return;
        if (!r.ok) return finish(err(r.error));
        this.#state = next;
        this.#active = sector;
        this.#next = 1;
        this.stats.writes++;
        this.stats.compactions++;
        finish(ok(next));
      });
    };
    const base = this.#offset(sector, 0);
    if (this.flash.isErased(base, this.layout.sectorSize)) {
      write();
      return;
    }
    this.flash.erase(this.flash.sectorOf(base), (r) => {
      if (epoch !== this.#epoch) return;
      if (!r.ok) return finish(err(r.error));
      write();
    });
  }

  #offset(sector: 0 | 1, index: number): number {
    return (
      regionOffset(this.layout, this.layout.bootState) +
      sector * this.layout.sectorSize +
      index * RECORD_BYTES
    );
  }
}
