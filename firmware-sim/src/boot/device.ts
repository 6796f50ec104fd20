import type { KeyObject } from 'node:crypto';
import type { SimTime } from '../kernel/scheduler.js';
import { ms } from '../kernel/sim.js';

/**
 * What a device knows without reading its flash: compiled into the (immutable) first stage and the
 * bootloader. Trusted keys live in ROM/OTP on real parts so that an attacker who can write flash cannot
 * add their own.
 */
export interface DeviceConstants {
  readonly hardwareId: string;
  readonly trustedKeys: readonly KeyObject[];
}

/** CPU time of the checks that gate every boot and every UPDATE_VERIFY. */
export interface BootTiming {
  /** SHA-256 throughput: software SHA-256 on a Cortex-M4 at 170 MHz is ~5 MB/s (200 ns/byte). */
  readonly hashNsPerByte: number;
  /** One Ed25519 verification (~25 ms for a compact C implementation on a Cortex-M4). */
  readonly signatureVerifyNs: SimTime;
  /** Reset to first instruction of the check (clocks, RAM init). */
  readonly startupNs: SimTime;
}

export const DEFAULT_BOOT_TIMING: BootTiming = {
  hashNsPerByte: 200,
  signatureVerifyNs: ms(25),
  startupNs: ms(1),
};
