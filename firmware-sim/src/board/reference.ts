import type { BoardSpec } from './spec.js';

/**
 * The reference board: a gateway MCU on the host's UART with two MCUs behind it on CAN, and one MCU
 * on Modbus RTU. Clocks differ by up to ±100 ppm and drift; every MCU heartbeats; the CAN nodes and
 * the Modbus node send telemetry of signals they share, so alignment can be checked.
 */
export function referenceBoard(overrides: Partial<BoardSpec> = {}): BoardSpec {
  return {
    name: 'reference',
    buses: [
      { kind: 'uart', name: 'uart0', baud: 115200, ends: ['host', 'gw'] },
      { kind: 'can', name: 'can0', bitrate: 500_000 },
      { kind: 'modbus', name: 'rs485', baud: 19200 },
    ],
    host: { buses: ['uart0', 'rs485'] },
    mcus: [
      {
        name: 'gw',
        address: 0x10,
        hardwareId: 'mcubus-ref-gw',
        clock: { offsetUs: 1_234_567, skewPpm: 42, driftPpmPerSqrtHour: 0.5, counterBits: 32 },
        ports: [{ bus: 'uart0' }, { bus: 'can0' }],
        gateway: {},
        watchdogMs: 500,
      },
      {
        name: 'node-a',
        address: 0x21,
        hardwareId: 'mcubus-ref-node',
        clock: { offsetUs: 987_654_321, skewPpm: -87, driftPpmPerSqrtHour: 0.5, counterBits: 32 },
        ports: [{ bus: 'can0' }],
        telemetry: {
          periodMs: 100,
          samplesPerFrame: 5,
          channels: [{ channel: 1, signal: 'supplyCurrent_mA', noise: 2 }],
        },
        watchdogMs: 500,
        powerOnAtMs: 3,
      },
      {
        name: 'node-b',
        address: 0x22,
        hardwareId: 'mcubus-ref-node',
        clock: {
          offsetUs: 55_000_000,
          skewPpm: 100,
          driftPpmPerSqrtHour: 0.5,
          counterBits: 64,
          resolutionNs: 125,
        },
        ports: [{ bus: 'can0' }],
        telemetry: {
          periodMs: 100,
          samplesPerFrame: 5,
          channels: [{ channel: 1, signal: 'batteryCurrent_mA', noise: 2 }],
        },
        watchdogMs: 500,
        powerOnAtMs: 7,
      },
      {
        name: 'node-m',
        address: 0x30,
        hardwareId: 'mcubus-ref-modbus',
        clock: { offsetUs: 3_000_000_000, skewPpm: -25, driftPpmPerSqrtHour: 0.5, counterBits: 32 },
        ports: [{ bus: 'rs485', modbusAddress: 7, turnaroundUs: 2500 }],
        telemetry: { periodMs: 500, channels: [{ channel: 2, signal: 'temperature_cC' }] },
        watchdogMs: 500,
        powerOnAtMs: 11,
      },
    ],
    ...overrides,
  };
}
