import type { Message } from '@mcubus/protocol';
import type { SimTime } from '../kernel/scheduler.js';

/** What the boot path decided at power-on. */
export interface BootOutcome {
  readonly mode: 'app' | 'bootloader';
  readonly firmwareVersion: number[];
  readonly bootloaderVersion: number[];
  /** Running a not-yet-confirmed image: it must be confirmed before the next reset or it reverts. */
  readonly testBoot: boolean;
  /** Time the boot path takes (hash and signature checks) before firmware runs. */
  readonly bootNs: SimTime;
  readonly slots: { index: number; version: number[]; flags: number; size?: number; sha256?: Uint8Array }[];
  readonly securityCounter?: number;
  /** Why it stayed in the bootloader, or what it fell back from. */
  readonly note?: string;
}

/**
 * The flash-backed part of an MCU: boot decision, the update receiver, and flash busy time. The MCU
 * model talks to it through this interface only.
 */
export interface DeviceStorage {
  /** `stayInBootloader`: the reset asked for the bootloader (RESET target 1). */
  powerOn(opts?: { stayInBootloader?: boolean }): BootOutcome;
  /** Handles UPDATE_* requests; `reply` answers the request, `event` sends UPDATE_ACKs to the host. */
  handleUpdate(message: Message, reply: (m: Message) => void, event: (m: Message) => void): void;
  /** Power is cut: interrupt whatever flash operation is running. */
  powerLost(): void;
  /** Until when the CPU is stalled by a flash operation (erase stalls instruction fetch). */
  busyUntil(): SimTime;
  /** Error count of flash operations, for heartbeats. */
  flashErrors(): number;
  /** Where the storage's firmware (the update receiver) logs: the MCU sends these as LOG events. */
  attachLog?(log: (level: 0 | 1 | 2 | 3, text: string, module?: string) => void): void;
}
