import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BoardSpec,
  buildBoard,
  buildSignedImage,
  canFrameDurationNs,
  factoryStorage,
  type McuSpec,
  makeLayout,
  NS_PER_S,
  referenceBoard,
  SIM_SIGNING_KEY,
} from '@mcubus/firmware-sim';
import type { UpdateView } from '@mcubus/host';
import { daemonOn, settle } from './sim-daemon.js';

/**
 * Update scenarios for the benchmarks: one device (or a gateway and a node behind it) with a 2.5 MiB
 * flash, a 1 MiB image, line errors, and the real daemon in virtual time. Goodput = image bytes ÷
 * time from the first chunk to the last acknowledgement.
 */
export type UpdateScenario = 'uart115200' | 'can500k' | 'can1m' | 'canfd2m' | 'modbus115200' | 'via_gateway';

const BIG_FLASH = { layout: makeLayout({ sectorCount: 640 }) };
/**
 * The same geometry with an STM32G4's typical timing (datasheet DS12288: 22 ms per 2 KiB page erase,
 * so 44 ms per 4 KiB sector; 82 µs per 64-bit double word): a slow flash that limits fast buses.
 */
const BIG_FLASH_G4 = {
  layout: makeLayout({ sectorCount: 640 }),
  flash: { eraseNsPerSector: 44_000_000, programNsPerUnit: 82_000 },
};
/**
 * A 44 ms erase outlasts a 256-byte UART receive FIFO at 115 200 baud (22 ms): such firmware keeps
 * the line quiet while it erases (ReceiverConfig.holdWindowForErase). CAN controllers hold frames.
 */
const HOLD_FOR_ERASE = { receiver: { maxChunk: 1024, window: 8, holdWindowForErase: true } };

function node(name: string, address: number, ports: McuSpec['ports']): McuSpec {
  return { name, address, hardwareId: 'mcubus-bench', ports, watchdogMs: 500 };
}

export function updateBoard(s: UpdateScenario): { spec: BoardSpec; target: number } {
  // 1e-5 bit errors on the UART; CAN frames corrupted at the same bit rate (≈130 bits a frame): the
  // controller retransmits those itself.
  const uart = (baud: number) => ({ kind: 'uart' as const, name: 'uart0', baud, bitErrorRate: 1e-5 });
  const can = (bitrate: number) => ({
    kind: 'can' as const,
    name: 'can0',
    bitrate,
    faults: [{ corrupt: 130e-5 }],
  });
  switch (s) {
    case 'uart115200':
      return {
        spec: {
          name: s,
          buses: [{ ...uart(115200), ends: ['host', 'dev'] }],
          host: { buses: ['uart0'] },
          mcus: [node('dev', 0x10, [{ bus: 'uart0' }])],
        },
        target: 0x10,
      };
    case 'can500k':
    case 'can1m':
      return {
        spec: {
          name: s,
          buses: [can(s === 'can500k' ? 500_000 : 1_000_000)],
          host: { buses: ['can0'] },
          mcus: [node('dev', 0x21, [{ bus: 'can0' }])],
        },
        target: 0x21,
      };
    case 'canfd2m':
      return {
        spec: {
          name: s,
          // CAN FD: 500 kbit/s arbitration, 2 Mbit/s data phase, 64-byte frames.
          buses: [{ ...can(500_000), fd: true, dataBitrate: 2_000_000, faults: [{ corrupt: 600e-5 }] }],
          host: { buses: ['can0'] },
          mcus: [node('dev', 0x21, [{ bus: 'can0' }])],
        },
        target: 0x21,
      };
    case 'modbus115200':
      return {
        spec: {
          name: s,
          buses: [{ kind: 'modbus', name: 'rs485', baud: 115200, bitErrorRate: 1e-5 }],
          host: { buses: ['rs485'] },
          mcus: [node('dev', 0x30, [{ bus: 'rs485', modbusAddress: 7 }])],
        },
        target: 0x30,
      };
    case 'via_gateway':
      return {
        spec: {
          name: s,
          buses: [{ ...uart(115200), ends: ['host', 'gw'] }, can(500_000)],
          host: { buses: ['uart0'] },
          mcus: [
            {
              ...node('gw', 0x10, [{ bus: 'uart0' }, { bus: 'can0' }]),
              hardwareId: 'mcubus-bench-gw',
              gateway: {},
            },
            node('dev', 0x21, [{ bus: 'can0' }]),
          ],
        },
        target: 0x21,
      };
  }
}

/** Runs one update of `size` bytes; returns the finished update's view. */
export async function runUpdate(
  s: UpdateScenario,
  seed: number,
  size = 1024 * 1024,
  chunkSize?: number,
  flash: 'model' | 'stm32g4' = 'model',
): Promise<UpdateView> {
  const { spec, target } = updateBoard(s);
  const parts =
    flash === 'stm32g4' ? { ...BIG_FLASH_G4, ...(s === 'uart115200' ? HOLD_FOR_ERASE : {}) } : BIG_FLASH;
  const board = buildBoard(spec, seed, { storageFor: (m, sim) => factoryStorage(m, sim, undefined, parts) });
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-update-bench-'));
  try {
    const { daemon } = daemonOn(board, dir, { trustedKeys: [SIM_SIGNING_KEY.publicKey] });
    void daemon.start();
    board.sim.runFor(3 * NS_PER_S);
    const image = buildSignedImage(
      { hardwareId: 'mcubus-bench', kind: 0, version: [2, 0, 0], size },
      SIM_SIGNING_KEY.privateKey,
    );
    const view = await settle(
      board,
      daemon.update(target, image, { trialMs: 500, ...(chunkSize ? { chunkSize } : {}) }),
      3_600_000,
    );
    void daemon.stop();
    return view;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Goodput in bytes/s of a finished update's transfer phase. */
export function goodput(v: UpdateView): number {
  if (v.transferStartedUs === null || v.transferEndedUs === null) return 0;
  return (v.size - v.resumedFrom) / ((v.transferEndedUs - v.transferStartedUs) / 1e6);
}

/**
 * ISO-TP payload rate of back-to-back consecutive frames at `bitrate`: 7 data bytes of 8 (classic),
 * or 63 of 64 with CAN FD and a bit-rate switch to `dataBitrate`.
 */
export function isoTpCeiling(bitrate: number, dataBitrate?: number): number {
  const fd = dataBitrate !== undefined;
  const data = new Uint8Array(fd ? 64 : 8).map((_, i) => (i === 0 ? 0x21 : i % 2 ? 0x55 : 0xaa));
  const ns = canFrameDurationNs(
    { id: 0x18da21f1, extended: true, fd, ...(fd ? { brs: true } : {}), data },
    { nominalBitrate: bitrate, ...(fd ? { dataBitrate } : {}) },
  );
  // Plus 3 bits of interframe space.
  return ((data.length - 1) * 1e9) / (ns + (3 * 1e9) / bitrate);
}

const REFERENCE_HW: Record<number, string> = {
  16: 'mcubus-ref-gw',
  33: 'mcubus-ref-node',
  34: 'mcubus-ref-node',
  48: 'mcubus-ref-modbus',
};

/**
 * The reference board (2.5 MiB flashes) updated as a campaign of the given devices with `size`-byte
 * images; returns the virtual seconds from the start to the campaign's end.
 */
export async function referenceCampaignSeconds(
  devices: readonly number[],
  size: number,
  seed = 1,
): Promise<number> {
  const board = buildBoard(referenceBoard(), seed, {
    storageFor: (m, sim) => factoryStorage(m, sim, undefined, BIG_FLASH),
  });
  const dir = mkdtempSync(join(tmpdir(), 'mcubus-campaign-bench-'));
  try {
    const { daemon } = daemonOn(board, join(dir, 'state'), { trustedKeys: [SIM_SIGNING_KEY.publicKey] });
    void daemon.start();
    board.sim.runFor(5 * NS_PER_S);
    const items = devices.map((device) => {
      const img = buildSignedImage(
        {
          hardwareId: REFERENCE_HW[device]!,
          kind: 0,
          version: [2, 0, 0],
          size,
          contentSeed: `bench:${device}`,
        },
        SIM_SIGNING_KEY.privateKey,
      );
      const imagePath = join(dir, `${device}.bin`);
      writeFileSync(imagePath, img.image);
      writeFileSync(`${imagePath}.manifest`, img.envelope);
      return { device, imagePath, manifestPath: `${imagePath}.manifest` };
    });
    const t0 = board.sim.now;
    const { id } = daemon.startCampaign({ items, trialMs: 500 }, false);
    if (id === undefined) throw new Error('the campaign did not start');
    for (;;) {
      const c = daemon.campaigns().find((x) => x.id === id);
      if (c && c.state !== 'running') {
        if (c.items.some((i) => i.state !== 'done')) throw new Error(`campaign: ${JSON.stringify(c.items)}`);
        break;
      }
      await settle(board, new Promise<void>(() => {}), 1000).catch(() => undefined);
    }
    const seconds = (board.sim.now - t0) / NS_PER_S;
    void daemon.stop();
    return seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
