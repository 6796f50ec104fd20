import { DEFAULT_UPDATES, SERVICE_DEFAULTS } from './sections.js';
import type { DaemonConfig } from './types.js';

/**
 * The configuration used when no file is given: the daemon attaches to the in-process simulated
 * reference board (firmware-sim `referenceBoard()`), where the host sits on the gateway's UART and
 * on the RS-485 Modbus line, and reaches the two CAN nodes through the gateway. Kept in step with
 * EMBEDDED_DEFAULT_YAML, which is the same configuration as a file (tests check they agree).
 */
export function embeddedDefaultConfig(): DaemonConfig {
  const stateDir = './.mcubus-state';
  return {
    stateDir,
    api: { socket: `${stateDir}/mcubusd.sock`, socketMode: 0o660 },
    simulator: { scenario: 'reference', seed: 1 },
    buses: [
      { type: 'sim', name: 'uart0', simBus: 'uart0' },
      { type: 'sim', name: 'rs485', simBus: 'rs485' },
    ],
    devices: [
      { address: 0x10, name: 'gw', bus: 'uart0' },
      { address: 0x21, name: 'node-a', via: 0x10 },
      { address: 0x22, name: 'node-b', via: 0x10 },
      { address: 0x30, name: 'node-m', bus: 'rs485' },
    ],
    services: SERVICE_DEFAULTS,
    // With a simulator, the simulated MCUs' signing key is trusted as well (mcubusd adds it).
    updates: DEFAULT_UPDATES,
    log: { level: 'info' },
  };
}

/** The embedded default written as a configuration file (also shown in docs/configuration.md). */
export const EMBEDDED_DEFAULT_YAML = `# The simulated reference board, run in process.
stateDir: ./.mcubus-state
simulator:
  scenario: reference
  seed: 1
buses:
  - name: uart0 # the gateway's UART
    type: sim
  - name: rs485 # the Modbus RTU line; node-m answers as slave 7
    type: sim
devices:
  - { address: 0x10, name: gw, bus: uart0 }
  - { address: 0x21, name: node-a, via: 0x10 }
  - { address: 0x22, name: node-b, via: 0x10 }
  - { address: 0x30, name: node-m, bus: rs485 }
`;
