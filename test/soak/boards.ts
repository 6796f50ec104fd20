import type { BoardSpec, McuSpec } from '@mcubus/firmware-sim';
import { referenceBoard } from '@mcubus/firmware-sim';

/** The boards a soak runs on: the reference board, and a larger one with every bus type. */
export type SoakBoardName = 'reference' | 'large';

const clock = (i: number) => ({
  offsetUs: 1_000_000 * (i + 1),
  // Skews spread over ±100 ppm, so no two clocks run alike.
  skewPpm: ((i * 37) % 200) - 100,
  driftPpmPerSqrtHour: 0.5,
  counterBits: i % 2 ? 64 : 32,
});

function node(name: string, address: number, ports: McuSpec['ports'], i: number): McuSpec {
  return { name, address, hardwareId: 'mcubus-soak-node', clock: clock(i), ports, watchdogMs: 500 };
}

/**
 * Three gateways (each on its own host UART, each master of a CAN bus), 7 CAN nodes behind them and 2
 * Modbus RTU nodes on the host's RS-485: 12 MCUs, all three bus types.
 */
export function largeBoard(): BoardSpec {
  const cans = [
    { bus: 'can0', nodes: 3 },
    { bus: 'can1', nodes: 3 },
    { bus: 'can2', nodes: 1 },
  ];
  const mcus: McuSpec[] = [];
  let i = 0;
  cans.forEach(({ bus, nodes }, g) => {
    mcus.push({
      name: `gw${g}`,
      address: 0x10 + g,
      hardwareId: 'mcubus-soak-gw',
      clock: clock(i++),
      ports: [{ bus: `uart${g}` }, { bus }],
      gateway: {},
      watchdogMs: 500,
    });
    for (let n = 0; n < nodes; n++) mcus.push(node(`n${g}${n}`, 0x20 + g * 0x10 + n, [{ bus }], i++));
  });
  for (let n = 0; n < 2; n++)
    mcus.push(node(`m${n}`, 0x50 + n, [{ bus: 'rs485', modbusAddress: 7 + n, turnaroundUs: 2500 }], i++));
  return {
    name: 'soak-large',
    buses: [
      ...cans.map((_, g) => ({
        kind: 'uart' as const,
        name: `uart${g}`,
        baud: 115200,
        ends: ['host', `gw${g}`] as const,
      })),
      ...cans.map(({ bus }) => ({ kind: 'can' as const, name: bus, bitrate: 500_000 })),
      { kind: 'modbus', name: 'rs485', baud: 19200 },
    ],
    host: { buses: ['uart0', 'uart1', 'uart2', 'rs485'] },
    mcus,
  };
}

export function soakBoard(name: SoakBoardName): BoardSpec {
  return name === 'reference' ? referenceBoard() : largeBoard();
}

/** Gateways of a board (their reboots cut the path to the nodes behind them). */
export function gatewaysOf(spec: BoardSpec): string[] {
  return spec.mcus.filter((m) => m.gateway !== undefined).map((m) => m.name);
}
