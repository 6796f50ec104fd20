import { goodput, isoTpCeiling, runUpdate } from '../support/update-scenarios.js';
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
  // FC 0x10 with 123 registers: 246 payload bytes in a 255-byte request, an 8-byte response and two
  // 3.5-character silences, at 11 520 characters a second (8N1).
  const modbusCeiling = (246 * 11_520) / (255 + 8 + 7);
  const modbus = goodput(await runUpdate('modbus115200', 1, MIB));
  out.push(
    result(
      'update.modbus115200.sim',
      modbus,
      'B/s',
      modbusCeiling,
      'ceiling: FC 0x10 payload rate; target ≥ 0.90',
    ),
  );
  return out;
}
