import { ResetReason } from '@mcubus/protocol';
import { CanCarriage } from '../carriage/can-carriage.js';
import { ModbusSlaveCarriage } from '../carriage/modbus-slave-carriage.js';
import { UartCarriage } from '../carriage/uart-carriage.js';
import { makeLayout } from '../flash/layout.js';
import { NS_PER_MS, NS_PER_US } from '../kernel/scheduler.js';
import { Sim } from '../kernel/sim.js';
import { CanBus } from '../links/can-bus.js';
import type { ByteEndpoint, CanPort } from '../links/endpoints.js';
import { RtuLine } from '../links/rtu-line.js';
import { lineFormat } from '../links/uart-format.js';
import { UartLink } from '../links/uart-link.js';
import { installGateway } from '../mcu/gateway.js';
import { Mcu } from '../mcu/mcu.js';
import type { DeviceStorage } from '../mcu/storage.js';
import { factoryStorage } from './factory.js';
import { deriveRoutes, type HostRoute } from './routes.js';
import type { BoardSpec, BusSpec, FaultEvent, McuSpec } from './spec.js';

export type HostPort =
  | { readonly kind: 'uart'; readonly bus: string; readonly endpoint: ByteEndpoint; readonly baud: number }
  | {
      readonly kind: 'modbus';
      readonly bus: string;
      readonly endpoint: ByteEndpoint;
      readonly baud: number;
      readonly line: RtuLine;
      readonly slaves: number[];
    }
  | { readonly kind: 'can'; readonly bus: string; readonly port: CanPort; readonly fd: boolean };

export interface SimBoard {
  readonly spec: BoardSpec;
  readonly sim: Sim;
  readonly mcus: Map<string, Mcu>;
  readonly hostPorts: Map<string, HostPort>;
  /** UART ends of external devices (BoardSpec.external), by bus: served like host ports. */
  readonly externalPorts: Map<string, HostPort & { readonly kind: 'uart'; readonly device: string }>;
  /** How the host reaches every device: bus and next hop (gateway or the device itself). */
  readonly hostRoutes: readonly HostRoute[];
  readonly links: { uart: Map<string, UartLink>; can: Map<string, CanBus>; modbus: Map<string, RtuLine> };
  /** Modbus slave address of each device on a Modbus bus, by mcubus address. */
  readonly modbusAddressOf: Map<number, number>;
}

export interface BuildOptions {
  readonly traceKeep?: number;
  /**
   * Flash, bootloader and update receiver per MCU. Default: factory-programmed flash (board/factory.ts);
   * return null for a fixed application without updates.
   */
  readonly storageFor?: (mcu: McuSpec, sim: Sim) => DeviceStorage | null;
}

/** Builds a simulated board from its description. Nothing runs until the caller advances `sim`. */
export function buildBoard(spec: BoardSpec, seed: number, opts: BuildOptions = {}): SimBoard {
  const sim = new Sim(seed, { traceKeep: opts.traceKeep ?? 2000 });
  const { mcuRoutes, hostRoutes } = deriveRoutes(spec);
  const links = {
    uart: new Map<string, UartLink>(),
    can: new Map<string, CanBus>(),
    modbus: new Map<string, RtuLine>(),
  };
  const mcus = new Map<string, Mcu>();
  const hostPorts = new Map<string, HostPort>();
  const externalPorts: SimBoard['externalPorts'] = new Map();
  const externalNames = new Set((spec.external ?? []).map((x) => x.name));
  const modbusAddressOf = new Map<number, number>();

  for (const m of spec.mcus) {
    const storage = opts.storageFor
      ? opts.storageFor(m, sim)
      : factoryStorage(
          m,
          sim,
          undefined,
          m.flashSectors ? { layout: makeLayout({ sectorCount: m.flashSectors }) } : {},
        );
    const {
      ports: _ports,
      gateway,
      processingUs,
      powerOnAtMs: _powerOn,
      flashSectors: _flash,
      ...identity
    } = m;
    const mcu = new Mcu(
      sim,
      {
        ...identity,
        routes: mcuRoutes.get(m.name) ?? [],
        ...(processingUs !== undefined ? { processingNs: processingUs * NS_PER_US } : {}),
        gateway: gateway !== undefined,
      },
      storage,
    );
    mcus.set(m.name, mcu);
  }

  const busyOf = (mcu: Mcu) => (atNs: number) => {
    const until = mcu.storage?.busyUntil() ?? 0;
    return until > atNs ? until : null;
  };

  const thirdParty = new Map<
    string,
    { carriage: ModbusSlaveCarriage; registers: Map<number, { start: number; values: number[] }> }
  >();
  for (const bus of spec.buses) buildBus(bus);

  function buildBus(bus: BusSpec): void {
    const onBus = spec.mcus.filter((m) => m.ports.some((p) => p.bus === bus.name));
    const portOf = (m: McuSpec) => m.ports.find((p) => p.bus === bus.name)!;
    if (bus.kind === 'uart') {
      const format = lineFormat(bus.baud, bus.frame ?? '8N1');
      const endOptions = (name: string) => {
        if (name === 'host' || externalNames.has(name)) return { name };
        const m = spec.mcus.find((x) => x.name === name);
        if (!m) throw new Error(`UART ${bus.name} end ${name} is not an MCU`);
        return { name, rxFifoBytes: portOf(m)?.rxFifoBytes ?? 256, isBusy: busyOf(mcus.get(name)!) };
      };
      const link = new UartLink(sim, {
        name: bus.name,
        format,
        a: endOptions(bus.ends[0]),
        b: endOptions(bus.ends[1]),
        ...(bus.bitErrorRate !== undefined ? { bitErrorRate: bus.bitErrorRate } : {}),
        ...(bus.byteDropRate !== undefined ? { byteDropRate: bus.byteDropRate } : {}),
        ...(bus.faults ? { faults: bus.faults } : {}),
      });
      links.uart.set(bus.name, link);
      bus.ends.forEach((end, i) => {
        const endpoint = i === 0 ? link.a : link.b;
        if (end === 'host')
          hostPorts.set(bus.name, { kind: 'uart', bus: bus.name, endpoint, baud: bus.baud });
        else if (externalNames.has(end))
          externalPorts.set(bus.name, { kind: 'uart', bus: bus.name, endpoint, baud: bus.baud, device: end });
        else mcus.get(end)!.attach(new UartCarriage(bus.name, sim, endpoint));
      });
    } else if (bus.kind === 'can') {
      const can = new CanBus(sim, {
        name: bus.name,
        nominalBitrate: bus.bitrate,
        ...(bus.dataBitrate !== undefined ? { dataBitrate: bus.dataBitrate } : {}),
        ...(bus.faults ? { faults: bus.faults } : {}),
        ...(bus.autoRecover !== undefined ? { autoRecover: bus.autoRecover } : {}),
      });
      links.can.set(bus.name, can);
      for (const m of onBus) {
        const port = can.attach(m.name, { fd: true });
        mcus
          .get(m.name)!
          .attach(new CanCarriage(bus.name, sim, port, { address: m.address, fd: bus.fd ?? false }));
      }
      if (spec.host.buses.includes(bus.name)) {
        hostPorts.set(bus.name, {
          kind: 'can',
          bus: bus.name,
          port: can.attach('host', { fd: true }),
          fd: bus.fd ?? false,
        });
      }
    } else {
      if (!spec.host.buses.includes(bus.name))
        throw new Error(`Modbus bus ${bus.name} needs the host as its master`);
      const format = lineFormat(bus.baud, bus.frame ?? '8E1');
      const line = new RtuLine(sim, {
        name: bus.name,
        format,
        ...(bus.faults ? { faults: bus.faults } : {}),
        ...(bus.bitErrorRate !== undefined ? { bitErrorRate: bus.bitErrorRate } : {}),
      });
      links.modbus.set(bus.name, line);
      const slaves: number[] = [];
      for (const m of onBus) {
        const p = portOf(m);
        const slaveAddress =
          p.modbusAddress ?? fail(`MCU ${m.name} on Modbus ${bus.name} needs a modbusAddress`);
        slaves.push(slaveAddress);
        modbusAddressOf.set(m.address, slaveAddress);
        const endpoint = line.attach(m.name, {
          rxFifoBytes: p.rxFifoBytes ?? 256,
          isBusy: busyOf(mcus.get(m.name)!),
        });
        mcus.get(m.name)!.attach(
          new ModbusSlaveCarriage(bus.name, sim, endpoint, {
            slaveAddress,
            baud: bus.baud,
            line: { parity: format.parity, stopBits: format.stopBits },
            ...(p.turnaroundUs !== undefined ? { turnaroundNs: p.turnaroundUs * NS_PER_US } : {}),
          }),
        );
      }
      // Third-party slaves: only registers, no mcubus firmware (they refuse the FC 0x41 tunnel).
      for (const tp of spec.thirdParty?.filter((t) => t.bus === bus.name) ?? []) {
        const registers = new Map(tp.registers.map((r) => [r.fn, { start: r.start, values: [...r.values] }]));
        const carriage = new ModbusSlaveCarriage(bus.name, sim, line.attach(tp.name, { rxFifoBytes: 256 }), {
          slaveAddress: tp.slave,
          baud: bus.baud,
          line: { parity: format.parity, stopBits: format.stopBits },
          registers: (fn, start, quantity) => {
            const bank = registers.get(fn);
            if (!bank || start < bank.start || start + quantity > bank.start + bank.values.length)
              return null;
            return bank.values.slice(start - bank.start, start - bank.start + quantity);
          },
        });
        thirdParty.set(tp.name, { carriage, registers });
      }
      hostPorts.set(bus.name, {
        kind: 'modbus',
        bus: bus.name,
        endpoint: line.attach('host'),
        baud: bus.baud,
        line,
        slaves,
      });
    }
  }

  for (const m of spec.mcus) {
    const mcu = mcus.get(m.name)!;
    if (m.gateway) {
      const downstreamBuses = [...new Set(m.ports.map((p) => p.bus))].filter((b) => {
        const route = (mcuRoutes.get(m.name) ?? []).find((r) => r.dst === 'default');
        return route?.port !== b;
      });
      installGateway(mcu, {
        downstream: downstreamBuses.map((bus, portIndex) => ({
          port: bus,
          portIndex,
          nodes: spec.mcus.filter((x) => x !== m && x.ports.some((p) => p.bus === bus)).map((x) => x.address),
        })),
        ...(m.gateway.timeSyncPeriodMs !== undefined ? { timeSyncPeriodMs: m.gateway.timeSyncPeriodMs } : {}),
        ...(m.gateway.timeMapPeriodMs !== undefined ? { timeMapPeriodMs: m.gateway.timeMapPeriodMs } : {}),
      });
    }
    sim.scheduler.at((m.powerOnAtMs ?? 0) * NS_PER_MS, () => mcu.powerOn());
  }

  for (const f of spec.faults ?? []) scheduleFault(f);

  function scheduleFault(f: FaultEvent): void {
    sim.scheduler.at(f.atMs * NS_PER_MS, () => {
      sim.record('fault', f.kind, JSON.stringify(f));
      if (f.kind === 'babble') {
        links.can
          .get(f.bus)
          ?.babble(f.mcu, { id: f.id, fromNs: sim.now, untilNs: sim.now + f.durationMs * NS_PER_MS });
        return;
      }
      if (f.kind === 'noise') {
        const uart = links.uart.get(f.bus);
        const uartSpec = spec.buses.find((b) => b.name === f.bus && b.kind === 'uart');
        if (uart && uartSpec?.kind === 'uart') {
          // Direction a→b runs from ends[0] to ends[1].
          const hostIsA = uartSpec.ends[0] === 'host';
          uart.noise(f.towardHost === hostIsA ? 'b→a' : 'a→b', sim.now, f.bytes);
        }
        links.modbus.get(f.bus)?.noise(sim.now, f.bytes);
        return;
      }
      if (f.kind === 'register' || f.kind === 'third_party_power') {
        const tp = thirdParty.get(f.device) ?? fail(`fault for unknown third-party device ${f.device}`);
        if (f.kind === 'third_party_power') tp.carriage.setPowered(f.on);
        else {
          const bank = tp.registers.get(f.fn);
          if (bank && f.address >= bank.start && f.address < bank.start + bank.values.length) {
            bank.values[f.address - bank.start] = f.value;
          }
        }
        return;
      }
      const mcu = mcus.get(f.mcu) ?? fail(`fault for unknown MCU ${f.mcu}`);
      switch (f.kind) {
        case 'crash':
          return mcu.crash();
        case 'hang':
          return mcu.hang();
        case 'mute':
          return mcu.mute();
        case 'power_off':
          return mcu.powerOff();
        case 'power_on':
          return mcu.powerOn();
        case 'brownout':
          mcu.powerOff();
          sim.scheduler.after(f.offMs * NS_PER_MS, () => mcu.powerOn(ResetReason.brownout));
          return;
        case 'slow':
          return mcu.slowDown(f.extraUs * NS_PER_US);
        case 'clock_jump':
          return mcu.clock.jump(f.deltaUs);
      }
    });
  }

  return { spec, sim, mcus, hostPorts, externalPorts, hostRoutes, links, modbusAddressOf };
}

function fail(message: string): never {
  throw new Error(message);
}
