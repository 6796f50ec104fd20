import { modbus } from '@mcubus/protocol';
import { goodput, isoTpCeiling, referenceCampaignSeconds, runUpdate } from '../support/update-scenarios.js';
import { type BenchResult, result } from './harness.js';

/**
 * Firmware update goodput (issue 7): the real daemon in virtual time updating a simulated device
 * with a 1 MiB image through its whole path — probe, resumable begin, windowed transfer with
 * selective acks, verify — on lines with a 1e-5 bit error rate (CAN: frames corrupted at that rate,
 * repeated by the controller). Flash: the simulator's STM32-like part (20 ms per 4 KiB sector erase,
 * 10 µs per 8-byte double word). Ratio = goodput / ceiling.
 */
const MIB = 1024 * 1024;

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const uart = goodput(await runUpdate('uart115200', 1, MIB));
  // 8N1: ten bit times a byte.
  out.push(
    result('update.uart115200.sim', uart, 'B/s', 11_520, 'ceiling: 115 200 baud 8N1; target ratio ≥ 0.92'),
  );
  for (const [name, bitrate] of [
    ['can500k', 500_000],
    ['can1m', 1_000_000],
  ] as const) {
    const g = goodput(await runUpdate(name, 1, MIB));
    out.push(
      result(
        `update.${name}.sim`,
        g,
        'B/s',
        isoTpCeiling(bitrate),
        'ceiling: back-to-back ISO-TP consecutive frames; target ≥ 0.85',
      ),
    );
  }
  const fd = goodput(await runUpdate('canfd2m', 1, MIB));
  out.push(
    result(
      'update.canfd2m.sim',
      fd,
      'B/s',
      isoTpCeiling(500_000, 2_000_000),
      'ceiling: back-to-back 64-byte ISO-TP FD frames, 2 Mbit/s data phase; target ≥ 0.80',
    ),
  );
  // The same transfers with an STM32G4's flash timing: the flash, not the wire, sets the pace on fast
  // buses (about 47 KB/s for 1 KiB chunks), which no transfer protocol can beat.
  for (const [name, ceiling] of [
    ['uart115200', 11_520],
    ['canfd2m', isoTpCeiling(500_000, 2_000_000)],
  ] as const) {
    const g = goodput(await runUpdate(name, 1, MIB, undefined, 'stm32g4'));
    out.push(
      result(`update.${name}.sim.stm32g4_flash`, g, 'B/s', ceiling, 'same, STM32G4 datasheet flash timing'),
    );
  }
  const via = goodput(await runUpdate('via_gateway', 1, MIB));
  out.push(
    result(
      'update.via_gateway.sim',
      via,
      'B/s',
      uart,
      'ceiling: the UART hop alone (update.uart115200.sim); target ≥ 0.90',
    ),
  );
  // FC 0x10 with 123 registers: 246 payload bytes in a 255-byte request, an 8-byte response and the
  // two silences between them, on the same line (8E1, the Modbus default; t3.5 fixed at 1.75 ms
  // above 19 200 baud).
  const t = modbus.rtuTiming(115_200, { parity: 'even', stopBits: 1 });
  const modbusCeiling = (246 * 1e6) / ((255 + 8) * t.charTimeUs + 2 * t.t35Us);
  const modbusGoodput = goodput(await runUpdate('modbus115200', 1, MIB));
  out.push(
    result(
      'update.modbus115200.sim',
      modbusGoodput,
      'B/s',
      modbusCeiling,
      'ceiling: FC 0x10 payload rate; target ≥ 0.90',
    ),
  );
  // The whole reference board as one campaign (the Modbus node on its own line in parallel with the
  // UART chain: both nodes behind the gateway, then the gateway), against the slowest device alone.
  const board = [0x10, 0x21, 0x22, 0x30];
  const alone: number[] = [];
  for (const d of board) alone.push(await referenceCampaignSeconds([d], 256 * 1024));
  const whole = await referenceCampaignSeconds(board, 256 * 1024);
  const slowest = Math.max(...alone);
  out.push(
    result(
      'update.board_parallel.sim',
      whole / slowest,
      'ratio',
      1.15,
      `whole board ${whole.toFixed(0)} s / slowest device alone ${slowest.toFixed(0)} s (256 KiB images); target ≤ 1.15`,
    ),
  );
  return out;
}
