import { formatVersion } from '@mcubus/protocol';
import type { Flash } from '../flash/flash.js';
import type { FlashLayout, SlotIndex } from '../flash/layout.js';
import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import { type BootDecision, decideBoot } from './decide.js';
import type { BootTiming, DeviceConstants } from './device.js';
import { type BootloaderSlotCheck, type FirstStageResult, selectBootloader } from './first-stage.js';
import { commitState } from './image-header.js';
import { inspectSlot, type SlotCheck } from './slot-check.js';
import type { BootState } from './state-record.js';
import type { BootStateStore } from './state-store.js';

export interface BootloaderDeps {
  readonly sim: Sim;
  readonly name: string;
  readonly flash: Flash;
  readonly layout: FlashLayout;
  readonly device: DeviceConstants;
  readonly timing: BootTiming;
  readonly store: BootStateStore;
}

export interface BootOptions {
  readonly stayInBootloader?: boolean;
}

export interface BootResult {
  readonly firstStage: FirstStageResult;
  /** null: the first stage found no bootloader to start (a bricked device: nothing runs). */
  readonly decision: BootDecision | null;
  /** Power-on to first instruction of the chosen code: checks, plus the boot-state write if any. */
  readonly bootNs: SimTime;
}

/**
 * The boot path of one MCU (first stage, then the bootloader's decision) and the boot-state
 * transitions the update receiver asks for. Owns no RAM state that survives a reset: everything it
 * decides comes from the flash.
 */
export class Bootloader {
  readonly stats = { boots: 0, tests: 0, reverts: 0, fallbacks: 0, bootWriteFailures: 0, bricked: 0 };
  #epoch = 0;

  constructor(readonly deps: BootloaderDeps) {}

  get state(): BootState {
    return this.deps.store.state;
  }

  /**
   * Power-on: reloads the boot state, runs the first stage and the decision, and issues the boot-state
   * write the decision needs (test attempt or revert) after the checks' CPU time. Returns at once with
   * the outcome; the chosen code starts `bootNs` from now, when that write has completed.
   */
  boot(opts: BootOptions = {}): BootResult {
    const { sim, store, flash, layout, device, timing, name } = this.deps;
    this.#epoch++;
    this.stats.boots++;
    store.load();
    const firstStage = selectBootloader(flash, layout, device, timing);
    let bootNs = timing.startupNs + firstStage.checkNs;
    if (!firstStage.ok) {
      this.stats.bricked++;
      sim.record(name, 'bricked', firstStage.checks.map((c) => c.status).join(','));
      return { firstStage, decision: null, bootNs };
    }
    const decision = decideBoot({ flash, layout, device, timing, state: store.state, ...opts });
    bootNs += decision.checkNs;
    if (decision.mode === 'app') {
      if (decision.why === 'test') this.stats.tests++;
      if (decision.why === 'reverted') this.stats.reverts++;
      if (decision.why === 'fallback') this.stats.fallbacks++;
    }
    const patch = decision.patch;
    if (patch) {
      const epoch = this.#epoch;
      sim.scheduler.after(bootNs, () => {
        if (epoch !== this.#epoch) return;
        store.update(
          () => patch,
          (r) => {
            if (r.ok) return;
            // A real bootloader must not start a test image whose attempt is not recorded (it would
            // test-boot forever): it retries or boots the confirmed slot. See the doc.
            this.stats.bootWriteFailures++;
            sim.record(name, 'boot_write_failed', r.error.message);
          },
        );
      });
      bootNs += store.nextWriteNs();
    }
    sim.record(name, 'boot_decision', describe(firstStage, decision));
    return { firstStage, decision, bootNs };
  }

  /** Power lost or reset: writes not yet issued are forgotten. */
  powerOff(): void {
    this.#epoch++;
    this.deps.store.powerOff();
  }

  /** UPDATE_ACTIVATE: test-boot `slot` at the next reset. */
  markPending(slot: SlotIndex, done: (r: { ok: boolean; message?: string }) => void): void {
    this.deps.store.update(
      () => ({ pending: slot, testAttempted: false }),
      (r) => done(r.ok ? { ok: true } : { ok: false, message: r.error.message }),
    );
  }

  /**
   * UPDATE_CONFIRM (or a permanent ACTIVATE): `slot` becomes the confirmed image and the anti-rollback
   * floor rises to its security counter. Raising the floor only here, never on activation, is what keeps
   * the previous image bootable for a revert.
   */
  confirm(
    slot: SlotIndex,
    securityCounter: number,
    done: (r: { ok: boolean; message?: string }) => void,
  ): void {
    this.deps.store.update(
      (s) => ({
        confirmed: slot,
        pending: s.pending === slot ? null : s.pending,
        testAttempted: s.pending === slot ? false : s.testAttempted,
        minSecurityCounter: Math.max(s.minSecurityCounter, securityCounter),
      }),
      (r) => done(r.ok ? { ok: true } : { ok: false, message: r.error.message }),
    );
  }

  inspectApp(slot: SlotIndex): SlotCheck {
    const { flash, layout, device, timing, store } = this.deps;
    return inspectSlot(flash, layout, 0, slot, device, timing, store.state.minSecurityCounter);
  }

  inspectBootloader(slot: SlotIndex): BootloaderSlotCheck {
    const { flash, layout, device, timing } = this.deps;
    const committed = commitState(flash, layout, layout.bootloaders[slot]).committed;
    return { ...inspectSlot(flash, layout, 1, slot, device, timing, 0), committed };
  }
}

function describe(fs: FirstStageResult, d: BootDecision): string {
  const bl = fs.ok ? `bl ${'AB'[fs.slot]} v${formatVersion(fs.manifest.version)}` : 'no bl';
  if (d.mode === 'bootloader') return `${bl}, stay in bootloader (${d.reason})`;
  return `${bl}, app ${'AB'[d.slot]} v${formatVersion(d.manifest.version)} (${d.why})`;
}
