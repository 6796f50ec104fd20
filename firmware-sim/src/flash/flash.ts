import { CauseCounters, err, ok, type Result } from '@mcubus/protocol';
import type { Prng } from '../kernel/prng.js';
import type { SimTime, Timer } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import { DEFAULT_FLASH_CONFIG, ERASED_BYTE, type FlashConfig } from './config.js';
import type { FlashDone, FlashError, FlashErrorCode } from './errors.js';
import { tearErase, tearProgram } from './tear.js';

/** Read side of a flash: what the boot decision needs (reads are instant, as on memory-mapped flash). */
export interface FlashReader {
  readonly size: number;
  readonly sectorSize: number;
  read(offset: number, length: number): Uint8Array;
  isErased(offset: number, length: number): boolean;
}

interface QueuedOp {
  readonly kind: 'erase' | 'program';
  readonly offset: number;
  /** Program only (length a multiple of the write unit). */
  readonly data: Uint8Array;
  readonly done: FlashDone;
}

interface RunningOp {
  readonly number: number;
  readonly op: QueuedOp;
  readonly end: SimTime;
  /** Program only: the first write unit that is not erased (the operation stops there), or null. */
  readonly failUnit: number | null;
  readonly timer: Timer;
}

/**
 * A simulated embedded NOR flash. Erase and program are asynchronous in virtual time and run one at a
 * time in issue order (a flash controller has one operation in progress; the driver waits on BSY).
 * Every started operation is numbered (`opsStarted`), which is how power-cut scenarios name the exact
 * moment to cut: `cutPowerAtOp(k)` stops operation k halfway and leaves torn contents behind.
 */
export class Flash implements FlashReader {
  readonly config: FlashConfig;
  readonly size: number;
  /** Refused and failed operations by cause (the MCU's `flash` error counter). */
  readonly errors = new CauseCounters<FlashErrorCode>();
  readonly stats = { erases: 0, programs: 0, unitsProgrammed: 0, torn: 0 };
  readonly #mem: Uint8Array;
  readonly #rng: Prng;
  readonly #source: string;
  readonly #queue: QueuedOp[] = [];
  #current: RunningOp | null = null;
  #opsStarted = 0;
  #powered = true;
  #cut: { readonly op: number; readonly onCut: () => void } | null = null;
  readonly #failAt = new Set<number>();
  readonly #changeListeners: ((offset: number, length: number) => void)[] = [];

  constructor(
    readonly sim: Sim,
    readonly name: string,
    config: Partial<FlashConfig> = {},
  ) {
    this.config = { ...DEFAULT_FLASH_CONFIG, ...config };
    const { sectorSize, writeUnit, sectorCount } = this.config;
    if (sectorSize % writeUnit !== 0 || sectorCount < 1) {
      throw new RangeError(`flash ${name}: sector size ${sectorSize} is not a multiple of ${writeUnit}`);
    }
    this.size = sectorSize * sectorCount;
    // A new chip leaves the factory erased.
    this.#mem = new Uint8Array(this.size).fill(ERASED_BYTE);
    this.#rng = sim.rng(`flash:${name}`);
    this.#source = `flash:${name}`;
  }

  get sectorSize(): number {
    return this.config.sectorSize;
  }

  /** Operations started since creation (erase or program, including failed and torn ones). */
  get opsStarted(): number {
    return this.#opsStarted;
  }

  get powered(): boolean {
    return this.#powered;
  }

  get busy(): boolean {
    return this.#current !== null || this.#queue.length > 0;
  }

  /** When everything issued so far will have finished (now if idle): the CPU stalls on flash until then. */
  get busyUntil(): SimTime {
    if (!this.#current) return this.sim.now;
    let t = this.#current.end;
    for (const op of this.#queue) t += this.#duration(op, null);
    return t;
  }

  sectorOf(offset: number): number {
    return Math.floor(offset / this.config.sectorSize);
  }

  // ── reads (instant) ──────────────────────────────────────────────────────────────────────────

  read(offset: number, length: number): Uint8Array {
    this.#checkRange(offset, length);
    return this.#mem.slice(offset, offset + length);
  }

  isErased(offset: number, length: number): boolean {
    this.#checkRange(offset, length);
    for (let i = offset; i < offset + length; i++) if (this.#mem[i] !== ERASED_BYTE) return false;
    return true;
  }

  // ── operations ───────────────────────────────────────────────────────────────────────────────

  /** Erases a whole sector to 0xFF; `done` runs when the erase has finished. */
  erase(sector: number, done: FlashDone): void {
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.config.sectorCount) {
      this.#refuse('out_of_range', sector * this.config.sectorSize, `no sector ${sector}`, done);
      return;
    }
    this.#issue({ kind: 'erase', offset: sector * this.config.sectorSize, data: new Uint8Array(0), done });
  }

  /**
   * Programs `data` at `offset` (both aligned to the write unit). Each unit must be erased: the first one
   * that is not stops the operation with `not_erased`, the units before it stay written.
   */
  program(offset: number, data: Uint8Array, done: FlashDone): void {
    const unit = this.config.writeUnit;
    if (offset % unit !== 0 || data.length % unit !== 0 || data.length === 0) {
      this.#refuse(
        'misaligned',
        offset,
        `program of ${data.length} bytes at ${offset}: unit is ${unit}`,
        done,
      );
      return;
    }
    if (offset < 0 || offset + data.length > this.size) {
      this.#refuse('out_of_range', offset, `program of ${data.length} bytes at ${offset}`, done);
      return;
    }
    this.#issue({ kind: 'program', offset, data: data.slice(), done });
  }

  /**
   * Called after an operation changed the contents (finished or torn), with the range it touched: how
   * process mode keeps a flash file in step, so a killed simulator restarts with what the chip held.
   */
  onContentsChanged(listener: (offset: number, length: number) => void): void {
    this.#changeListeners.push(listener);
  }

  // ── fault injection ──────────────────────────────────────────────────────────────────────────

  /**
   * Cuts the power halfway through operation `op` (1-based, counted by `opsStarted`): its effect is torn
   * (see tear.ts), queued operations are lost, no callback runs, then `onCut` (the MCU turns off).
   */
  cutPowerAtOp(op: number, onCut: () => void): void {
    this.#cut = { op, onCut };
  }

  /** Operation `op` takes its time, changes nothing, and reports `injected` (a flash controller error). */
  failWriteAtOp(op: number): void {
    this.#failAt.add(op);
  }

  /** Power lost now: the running operation is torn, queued ones are dropped, callbacks never run. */
  powerLoss(): void {
    if (this.#current) {
      this.#current.timer.cancel();
      this.#tear(this.#current);
    }
    this.#stop();
  }

  powerOn(): void {
    this.#powered = true;
  }

  // ── factory programming (outside the simulated firmware) ────────────────────────────────────

  /** What a production programmer does over SWD: write bytes directly, no time, no write-once rule. */
  factoryProgram(offset: number, data: Uint8Array): void {
    this.#checkRange(offset, data.length);
    this.#mem.set(data, offset);
  }

  factoryErase(offset: number, length: number): void {
    this.#checkRange(offset, length);
    this.#mem.fill(ERASED_BYTE, offset, offset + length);
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────────

  #issue(op: QueuedOp): void {
    if (!this.#powered) {
      // A dead MCU issues nothing; something did, so count it, but a dead MCU also hears no answer.
      this.errors.add('powered_off');
      this.sim.record(this.#source, 'refused', `powered_off ${op.kind} at ${op.offset}`);
      return;
    }
    this.#queue.push(op);
    this.#startNext();
  }

  #refuse(code: FlashErrorCode, address: number, message: string, done: FlashDone): void {
    this.errors.add(code);
    this.sim.record(this.#source, 'refused', `${code} ${message}`);
    // Answer asynchronously like every other outcome, so callers never re-enter themselves.
    this.sim.scheduler.after(0, () => done(err({ code, message, op: 0, address })));
  }

  #duration(op: QueuedOp, failUnit: number | null): SimTime {
    if (op.kind === 'erase') return this.config.eraseNsPerSector;
    const units = failUnit ?? op.data.length / this.config.writeUnit;
    return units * this.config.programNsPerUnit;
  }

  #startNext(): void {
    if (this.#current || !this.#powered) return;
    const op = this.#queue.shift();
    if (!op) return;
    const number = ++this.#opsStarted;
    const failUnit = op.kind === 'program' ? this.#firstProgrammedUnit(op.offset, op.data.length) : null;
    const duration = this.#duration(op, failUnit);
    const cut = this.#cut !== null && this.#cut.op === number ? this.#cut : null;
    const detail =
      op.kind === 'erase'
        ? `op ${number} sector ${this.sectorOf(op.offset)}`
        : `op ${number} 0x${op.offset.toString(16)} +${op.data.length}`;
    this.sim.record(this.#source, op.kind, detail);
    if (cut) this.#cut = null;
    // A cut stops the operation halfway through; otherwise it completes after its full duration.
    const running: RunningOp = {
      number,
      op,
      end: this.sim.now + duration,
      failUnit,
      timer: this.sim.scheduler.after(cut ? Math.floor(duration / 2) : duration, () => {
        if (!cut) return this.#finish(running);
        this.#tear(running);
        this.#stop();
        cut.onCut();
      }),
    };
    this.#current = running;
  }

  #finish(r: RunningOp): void {
    this.#current = null;
    const { op } = r;
    const result = this.#apply(r);
    op.done(result);
    this.#startNext();
  }

  #apply(r: RunningOp): Result<void, FlashError> {
    const { op, number } = r;
    if (this.#failAt.delete(number)) {
      return this.#fail('injected', number, op.offset, `${op.kind} op ${number} failed (injected)`);
    }
    if (op.kind === 'erase') {
      this.#mem.fill(ERASED_BYTE, op.offset, op.offset + this.config.sectorSize);
      this.stats.erases++;
      this.#changed(op.offset, this.config.sectorSize);
      return ok(undefined);
    }
    const unit = this.config.writeUnit;
    const written = r.failUnit ?? op.data.length / unit;
    this.#mem.set(op.data.subarray(0, written * unit), op.offset);
    this.stats.programs++;
    this.#changed(op.offset, written * unit);
    this.stats.unitsProgrammed += written;
    if (r.failUnit !== null) {
      const at = op.offset + r.failUnit * unit;
      return this.#fail('not_erased', number, at, `program at 0x${at.toString(16)}: unit is not erased`);
    }
    return ok(undefined);
  }

  #fail(code: FlashErrorCode, op: number, address: number, message: string): Result<void, FlashError> {
    this.errors.add(code);
    this.sim.record(this.#source, 'error', message);
    return err({ code, message, op, address });
  }

  #tear(r: RunningOp): void {
    const { op } = r;
    this.stats.torn++;
    if (op.kind === 'erase') {
      tearErase(this.#mem.subarray(op.offset, op.offset + this.config.sectorSize), this.#rng);
    } else {
      const units = r.failUnit ?? op.data.length / this.config.writeUnit;
      if (units > 0) {
        const target = this.#mem.subarray(op.offset, op.offset + op.data.length);
        tearProgram(target, op.data, this.config.writeUnit, units, this.#rng);
      }
    }
    this.sim.record(this.#source, 'torn', `${op.kind} op ${r.number}`);
    this.#changed(op.offset, op.kind === 'erase' ? this.config.sectorSize : op.data.length);
  }

  #changed(offset: number, length: number): void {
    if (length > 0) for (const l of this.#changeListeners) l(offset, length);
  }

  #stop(): void {
    this.#current = null;
    this.#queue.length = 0;
    this.#powered = false;
  }

  #firstProgrammedUnit(offset: number, length: number): number | null {
    const unit = this.config.writeUnit;
    for (let u = 0; u < length / unit; u++) {
      if (!this.isErased(offset + u * unit, unit)) return u;
    }
    return null;
  }

  #checkRange(offset: number, length: number): void {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size)) {
      throw new RangeError(`flash ${this.name}: [${offset}, ${offset + length}) is outside 0..${this.size}`);
    }
  }
}
