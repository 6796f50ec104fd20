import { formatVersion, type Message } from '@mcubus/protocol';
import { Bootloader, type BootOptions, type BootResult } from '../boot/bootloader.js';
import { type BootTiming, DEFAULT_BOOT_TIMING, type DeviceConstants } from '../boot/device.js';
import { describeSlots } from '../boot/slot-info.js';
import { BootStateStore } from '../boot/state-store.js';
import type { FlashConfig } from '../flash/config.js';
import { Flash } from '../flash/flash.js';
import { type FlashLayout, makeLayout } from '../flash/layout.js';
import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import type { BootOutcome, DeviceStorage } from '../mcu/storage.js';
import type { ReceiverConfig } from './config.js';
import { type ReceiverLog, UpdateReceiver } from './receiver.js';
import type { RunningImage } from './running.js';

export interface FlashStorageOptions {
  readonly name: string;
  readonly device: DeviceConstants;
  /** Default: makeLayout() (512 KiB, 4 KiB sectors). The flash gets the layout's geometry. */
  readonly layout?: FlashLayout;
  /** Timing and write unit of the flash (geometry comes from the layout). */
  readonly flash?: Partial<Pick<FlashConfig, 'writeUnit' | 'eraseNsPerSector' | 'programNsPerUnit'>>;
  readonly timing?: Partial<BootTiming>;
  readonly receiver?: Partial<ReceiverConfig>;
  /** Device log lines of the update receiver (refusals, stalled sessions); more with attachLog(). */
  readonly log?: ReceiverLog;
}

/**
 * The flash-backed half of one simulated MCU, wired as the MCU model expects (mcu/storage.ts): one
 * Flash, its boot state, the boot path and the update receiver. Survives power cycles as the chip
 * does: flash contents persist, everything else is rebuilt at power-on.
 */
export class FlashStorage implements DeviceStorage {
  readonly flash: Flash;
  readonly layout: FlashLayout;
  readonly timing: BootTiming;
  readonly store: BootStateStore;
  readonly bootloader: Bootloader;
  readonly receiver: UpdateReceiver;
  #last: BootResult | null = null;
  readonly #logs: ReceiverLog[] = [];

  constructor(
    readonly sim: Sim,
    readonly options: FlashStorageOptions,
  ) {
    this.layout = options.layout ?? makeLayout();
    this.timing = { ...DEFAULT_BOOT_TIMING, ...options.timing };
    this.flash = new Flash(sim, options.name, {
      ...options.flash,
      sectorSize: this.layout.sectorSize,
      sectorCount: this.layout.sectorCount,
    });
    this.store = new BootStateStore(this.flash, this.layout);
    const common = {
      sim,
      name: options.name,
      flash: this.flash,
      layout: this.layout,
      device: options.device,
    };
    this.bootloader = new Bootloader({ ...common, timing: this.timing, store: this.store });
    if (options.log) this.#logs.push(options.log);
    this.receiver = new UpdateReceiver(
      {
        ...common,
        timing: this.timing,
        store: this.store,
        bootloader: this.bootloader,
        // Late-bound: the MCU that sends these lines to the host is built after its storage.
        log: (level, text, module) => {
          for (const log of this.#logs) log(level, text, module);
        },
      },
      options.receiver,
    );
  }

  /** Also sends the receiver's log lines here (the MCU model attaches its LOG sender). */
  attachLog(log: ReceiverLog): void {
    this.#logs.push(log);
  }

  /** The last boot: first-stage and bootloader decisions in full. */
  get lastBoot(): BootResult | null {
    return this.#last;
  }

  get running(): RunningImage | null {
    const r = this.#last;
    if (!r?.decision || !r.firstStage.ok) return null;
    const app = r.decision.mode === 'app' ? r.decision : null;
    return {
      mode: r.decision.mode,
      appSlot: app?.slot ?? null,
      appManifest: app?.manifest ?? null,
      blSlot: r.firstStage.slot,
      blManifest: r.firstStage.manifest,
    };
  }

  powerOn(opts: BootOptions = {}): BootOutcome {
    this.flash.powerOn();
    this.receiver.powerOff();
    const result = this.bootloader.boot(opts);
    this.#last = result;
    const running = this.running;
    if (running) this.receiver.start(running);
    return this.#outcome(result, running);
  }

  handleUpdate(message: Message, reply: (m: Message) => void, event: (m: Message) => void): void {
    this.receiver.handle(message, reply, event);
  }

  powerLost(): void {
    this.flash.powerLoss();
    this.bootloader.powerOff();
    this.receiver.powerOff();
  }

  busyUntil(): SimTime {
    return this.flash.busyUntil;
  }

  flashErrors(): number {
    return this.flash.errors.total();
  }

  /** Power-cut scenario: op `k` is torn, the storage stops, then `onCut` turns the MCU off. */
  cutPowerAtOp(k: number, onCut: () => void): void {
    this.flash.cutPowerAtOp(k, () => {
      this.bootloader.powerOff();
      this.receiver.powerOff();
      onCut();
    });
  }

  #outcome(r: BootResult, running: RunningImage | null): BootOutcome {
    const d = r.decision;
    const slots = describeSlots({
      flash: this.flash,
      layout: this.layout,
      device: this.options.device,
      timing: this.timing,
      // HELLO goes out after the boot-state write the decision asked for.
      state: { ...this.store.state, ...d?.patch },
      runningApp: running?.appSlot ?? null,
      bootloader: running?.blManifest ?? null,
    });
    if (!d || !running) {
      // No valid bootloader: nothing ever runs. The MCU model has no "dead" mode, so the boot never ends.
      return {
        mode: 'bootloader',
        firmwareVersion: [0, 0, 0],
        bootloaderVersion: [0, 0, 0],
        testBoot: false,
        bootNs: Number.POSITIVE_INFINITY,
        slots,
        note: 'bricked: no valid bootloader',
      };
    }
    const app = d.mode === 'app' ? d : null;
    return {
      mode: d.mode,
      firmwareVersion: app ? [...app.manifest.version] : [0, 0, 0],
      bootloaderVersion: [...running.blManifest.version],
      testBoot: app?.testBoot ?? false,
      bootNs: r.bootNs,
      slots,
      securityCounter: (app?.manifest ?? running.blManifest).securityCounter,
      note: app
        ? `${app.why}: slot ${'AB'[app.slot]} v${formatVersion(app.manifest.version)}`
        : `bootloader: ${d.mode === 'bootloader' ? d.reason : ''}`,
    };
  }
}
