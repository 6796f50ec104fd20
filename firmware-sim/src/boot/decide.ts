import { compareVersions, type Manifest } from '@mcubus/protocol';
import type { FlashReader } from '../flash/flash.js';
import { type FlashLayout, otherSlot, SLOT_INDICES, type SlotIndex } from '../flash/layout.js';
import type { SimTime } from '../kernel/scheduler.js';
import type { BootTiming, DeviceConstants } from './device.js';
import { inspectSlot, type SlotCheck } from './slot-check.js';
import type { BootState, BootStatePatch } from './state-record.js';

/**
 * Why this slot: `confirmed` the normal case; `test` first start of a pending image; `reverted` the test
 * image was started before and never confirmed, so the confirmed one runs again; `fallback` the slot the
 * state names is not valid, the other one is; `unconfirmed` nothing was ever confirmed (factory state):
 * the valid slot with the highest version.
 */
export type BootWhy = 'confirmed' | 'test' | 'reverted' | 'fallback' | 'unconfirmed';

interface DecisionBase {
  /** Boot state to persist before jumping (test attempt, revert), or null. */
  readonly patch: BootStatePatch | null;
  /** CPU time of the checks made (signatures and hashes of the slots inspected). */
  readonly checkNs: SimTime;
  /** Application slots inspected, by index (null: not looked at). */
  readonly checks: readonly [SlotCheck | null, SlotCheck | null];
}

export interface AppBoot extends DecisionBase {
  readonly mode: 'app';
  readonly slot: SlotIndex;
  /** Started on trial: it reverts at the next boot unless confirmed. */
  readonly testBoot: boolean;
  readonly manifest: Manifest;
  readonly why: BootWhy;
}

export interface BootloaderStay extends DecisionBase {
  readonly mode: 'bootloader';
  readonly reason: 'no_valid_image' | 'requested';
}

export type BootDecision = AppBoot | BootloaderStay;

export interface BootInput {
  readonly flash: FlashReader;
  readonly layout: FlashLayout;
  readonly device: DeviceConstants;
  readonly timing: BootTiming;
  readonly state: BootState;
  /** RESET target bootloader: stay, without counting a pending test boot as attempted. */
  readonly stayInBootloader?: boolean;
}

/**
 * The bootloader's choice of application slot: a pure function of the flash contents and the boot
 * state (decision table in docs/simulator-flash-boot.md). Images are executed in place from their slot;
 * nothing is copied, so the slot not chosen stays intact for a revert.
 */
export function decideBoot(input: BootInput): BootDecision {
  const { state } = input;
  const checks: [SlotCheck | null, SlotCheck | null] = [null, null];
  let checkNs = 0;
  const check = (slot: SlotIndex): SlotCheck => {
    let c = checks[slot];
    if (!c) {
      c = inspectSlot(
        input.flash,
        input.layout,
        0,
        slot,
        input.device,
        input.timing,
        state.minSecurityCounter,
      );
      checks[slot] = c;
      checkNs += c.checkNs;
    }
    return c;
  };
  const valid = (slot: SlotIndex) => check(slot).status === 'valid';
  const app = (slot: SlotIndex, testBoot: boolean, why: BootWhy, patch: BootStatePatch | null): AppBoot => ({
    mode: 'app',
    slot,
    testBoot,
    manifest: check(slot).manifest!,
    why,
    patch,
    checkNs,
    checks,
  });
  const stay = (reason: BootloaderStay['reason'], patch: BootStatePatch | null): BootloaderStay => ({
    mode: 'bootloader',
    reason,
    patch,
    checkNs,
    checks,
  });

  if (input.stayInBootloader) return stay('requested', null);

  let patch: BootStatePatch | null = null;
  let failedTest: SlotIndex | null = null;
  const pending = state.pending;
  if (pending !== null) {
    if (valid(pending) && !state.testAttempted) {
      // Persist the attempt before jumping: if this image hangs or resets, the next boot reverts.
      return app(pending, true, 'test', { testAttempted: true });
    }
    // Attempted and not confirmed (or no longer valid): revert to the slot that was confirmed.
    if (valid(pending)) failedTest = pending;
    patch = { pending: null, testAttempted: false };
  }

  const confirmed = state.confirmed;
  if (confirmed !== null) {
    if (valid(confirmed)) return app(confirmed, false, failedTest !== null ? 'reverted' : 'confirmed', patch);
    if (valid(otherSlot(confirmed))) return app(otherSlot(confirmed), false, 'fallback', patch);
    return stay('no_valid_image', patch);
  }

  // Nothing confirmed yet: the newest valid image, but never the one whose test just failed unless it is
  // the only one left.
  const candidates = SLOT_INDICES.filter((s) => s !== failedTest && valid(s));
  let best: SlotIndex | null = null;
  for (const s of candidates) {
    if (best === null || compareVersions(check(s).manifest!.version, check(best).manifest!.version) > 0)
      best = s;
  }
  if (best !== null) return app(best, false, failedTest !== null ? 'reverted' : 'unconfirmed', patch);
  if (failedTest !== null) return app(failedTest, false, 'fallback', patch);
  return stay('no_valid_image', patch);
}
