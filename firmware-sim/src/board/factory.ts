import { createHash } from 'node:crypto';
import { ed25519KeyPairFromSeed } from '@mcubus/protocol';
import { buildSignedImage } from '../boot/images.js';
import { provisionBootState, provisionSlot } from '../boot/provision.js';
import type { Sim } from '../kernel/sim.js';
import { FlashStorage, type FlashStorageOptions } from '../update/flash-storage.js';
import type { McuSpec } from './spec.js';

/**
 * The key the simulated boards' images are signed with, derived from a fixed seed so that tests, the
 * process-mode simulator and the host's update tests sign and verify alike. Never use it for real parts.
 */
export const SIM_SIGNING_KEY = ed25519KeyPairFromSeed(
  new Uint8Array(createHash('sha256').update('mcubus simulated board signing key').digest()),
);

export interface FactoryFirmware {
  readonly appVersion: readonly number[];
  readonly appSize: number;
  readonly bootloaderVersion: readonly number[];
  readonly bootloaderSize: number;
}

export const DEFAULT_FACTORY_FIRMWARE: FactoryFirmware = {
  appVersion: [1, 0, 0],
  appSize: 48 * 1024,
  bootloaderVersion: [1, 0, 0],
  bootloaderSize: 12 * 1024,
};

/**
 * Flash, bootloader and update receiver for one MCU, programmed as it leaves the factory: a committed
 * bootloader in BL-A, the application in slot A, confirmed.
 */
export function factoryStorage(
  mcu: McuSpec,
  sim: Sim,
  firmware: FactoryFirmware = DEFAULT_FACTORY_FIRMWARE,
  /** Another flash (a bigger layout, a real part's timing) or receiver configuration. */
  parts: Partial<Pick<FlashStorageOptions, 'layout' | 'flash' | 'receiver' | 'timing'>> = {},
): FlashStorage {
  const storage = new FlashStorage(sim, {
    ...parts,
    name: `${mcu.name}:flash`,
    device: { hardwareId: mcu.hardwareId, trustedKeys: [SIM_SIGNING_KEY.publicKey] },
  });
  const image = (kind: 0 | 1, version: readonly number[], size: number) =>
    buildSignedImage(
      {
        hardwareId: mcu.hardwareId,
        kind,
        version,
        size,
        contentSeed: `${mcu.hardwareId}:${kind}:${version.join('.')}`,
      },
      SIM_SIGNING_KEY.privateKey,
    );
  provisionSlot(
    storage.flash,
    storage.layout,
    1,
    0,
    image(1, firmware.bootloaderVersion, firmware.bootloaderSize),
  );
  provisionSlot(storage.flash, storage.layout, 0, 0, image(0, firmware.appVersion, firmware.appSize));
  provisionBootState(storage.flash, storage.layout, { confirmed: 0 });
  return storage;
}
