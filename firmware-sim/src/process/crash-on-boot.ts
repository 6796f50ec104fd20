import type { Mcu } from '../mcu/mcu.js';

/** How long a crashing image runs before its fault: long enough to say HELLO, as a real bad build does. */
export const CRASH_AFTER_NS = 200_000_000;

/**
 * Makes application `version` ("1.2.0") a bad build on `mcu`: it crashes shortly after every boot, so
 * an update to it is rolled back by the bootloader. Process mode's `--crash-version`, what a rig
 * uses to test rollback without a broken firmware of its own.
 */
export function crashOnBoot(mcu: Mcu, version: string): void {
  mcu.onBoot(() => {
    const boot = mcu.bootOutcome;
    if (boot?.mode === 'app' && boot.firmwareVersion.join('.') === version) {
      mcu.after(CRASH_AFTER_NS, () => mcu.crash());
    }
  });
}

/** "1.2.0" or "1.2.0.7": the version syntax `--crash-version` takes. */
export function isVersionText(text: string): boolean {
  return /^\d+\.\d+\.\d+(\.\d+)?$/.test(text);
}
