import type { FaultRule } from '../links/faults.js';
import type { FrameSpec } from '../links/uart-format.js';
import type { McuIdentity } from '../mcu/mcu.js';

/** A board as data: buses, MCUs, where the host is attached, and faults at times. */
export interface BoardSpec {
  readonly name: string;
  readonly buses: readonly BusSpec[];
  readonly mcus: readonly McuSpec[];
  /** Buses the host (address 0) is attached to. */
  readonly host: { readonly buses: readonly string[] };
  readonly faults?: readonly FaultEvent[];
  /** Third-party Modbus devices (no mcubus firmware): they only serve registers. */
  readonly thirdParty?: readonly ThirdPartySpec[];
  /**
   * Devices outside the simulator (the C device library as a process, a real MCU on an adapter) at
   * the end of a UART: that end is served as a port like the host's (a pty in process mode), and the
   * simulated gateways route to them like to their own nodes.
   */
  readonly external?: readonly ExternalSpec[];
}

export interface ExternalSpec {
  /** Name used as a UART end. */
  readonly name: string;
  readonly address: number;
}

export interface ThirdPartySpec {
  readonly name: string;
  readonly bus: string;
  readonly slave: number;
  /** Holding (3) or input (4) registers from `start`. */
  readonly registers: readonly {
    readonly fn: 3 | 4;
    readonly start: number;
    readonly values: readonly number[];
  }[];
}

export type BusSpec =
  | {
      readonly kind: 'uart';
      readonly name: string;
      readonly baud: number;
      readonly frame?: FrameSpec;
      /** The two ends: MCU names, 'host', or an external device's name. */
      readonly ends: readonly [string, string];
      readonly bitErrorRate?: number;
      readonly byteDropRate?: number;
      readonly faults?: readonly FaultRule[];
    }
  | {
      readonly kind: 'can';
      readonly name: string;
      readonly bitrate: number;
      readonly dataBitrate?: number;
      /** Nodes send CAN FD frames (64-byte ISO-TP frames). */
      readonly fd?: boolean;
      readonly faults?: readonly FaultRule[];
      readonly autoRecover?: boolean;
    }
  | {
      readonly kind: 'modbus';
      readonly name: string;
      readonly baud: number;
      readonly frame?: FrameSpec;
      readonly faults?: readonly FaultRule[];
      readonly bitErrorRate?: number;
    };

export interface PortSpec {
  readonly bus: string;
  /** Modbus slave address (Modbus buses only). */
  readonly modbusAddress?: number;
  /** Modbus: time from request end to response start. */
  readonly turnaroundUs?: number;
  /**
   * Bytes the MCU's UART can buffer while its CPU is stalled (a flash erase): the DMA ring most
   * firmware uses, default 256. Set 1 for an interrupt-driven UART without FIFO.
   */
  readonly rxFifoBytes?: number;
}

export interface McuSpec extends McuIdentity {
  /** Firmware time from receiving a request to queueing its answer (default 50 µs). */
  readonly processingUs?: number;
  readonly ports: readonly PortSpec[];
  /** This MCU forwards between its buses. */
  readonly gateway?: { readonly timeSyncPeriodMs?: number; readonly timeMapPeriodMs?: number };
  /** Virtual time of the first power-on (default 0). */
  readonly powerOnAtMs?: number;
  /** Flash size in 4 KiB sectors (default 128: 512 KiB, two 208 KiB application slots). */
  readonly flashSectors?: number;
}

/** Faults scheduled in virtual time (ms since start). */
export type FaultEvent =
  | {
      readonly atMs: number;
      readonly kind: 'crash' | 'hang' | 'power_off' | 'power_on' | 'mute';
      readonly mcu: string;
    }
  | { readonly atMs: number; readonly kind: 'brownout'; readonly mcu: string; readonly offMs: number }
  | { readonly atMs: number; readonly kind: 'slow'; readonly mcu: string; readonly extraUs: number }
  | { readonly atMs: number; readonly kind: 'clock_jump'; readonly mcu: string; readonly deltaUs: number }
  | {
      readonly atMs: number;
      readonly kind: 'babble';
      readonly bus: string;
      readonly mcu: string;
      readonly id: number;
      readonly durationMs: number;
    }
  /** A third-party device's register takes a new value (a sensor drifting out of range). */
  | {
      readonly atMs: number;
      readonly kind: 'register';
      readonly device: string;
      readonly fn: 3 | 4;
      readonly address: number;
      readonly value: number;
    }
  /** A third-party device loses (or regains) power. */
  | {
      readonly atMs: number;
      readonly kind: 'third_party_power';
      readonly device: string;
      readonly on: boolean;
    }
  | {
      readonly atMs: number;
      readonly kind: 'noise';
      readonly bus: string;
      readonly bytes: number;
      readonly towardHost?: boolean;
    };
