import type { SimTime } from '../kernel/scheduler.js';
import { ms, us } from '../kernel/sim.js';

/**
 * Geometry and timing of a NOR flash like an STM32's embedded flash: erase works on whole sectors
 * (pages), programming on aligned write units (STM32L4/G4: a 64-bit double word), and a unit may be
 * programmed only when it is erased.
 */
export interface FlashConfig {
  readonly sectorSize: number;
  readonly sectorCount: number;
  /** Programming granularity and alignment in bytes (8 = STM32 double word). */
  readonly writeUnit: number;
  readonly eraseNsPerSector: SimTime;
  readonly programNsPerUnit: SimTime;
}

/**
 * 512 KiB in 4 KiB sectors, 20 ms per sector erase, 10 µs per double word. Real parts vary: an STM32G4
 * erases a 2 KiB page in ~22 ms and programs a double word in ~82 µs (typ.); an STM32F4 erases a 128 KiB
 * sector in ~1 s. Scenarios that care pass their own numbers.
 */
export const DEFAULT_FLASH_CONFIG: FlashConfig = {
  sectorSize: 4096,
  sectorCount: 128,
  writeUnit: 8,
  eraseNsPerSector: ms(20),
  programNsPerUnit: us(10),
};

export const ERASED_BYTE = 0xff;
