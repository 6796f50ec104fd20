import type { DeviceProcess } from './procs/device-process.js';
import { runShell } from './procs/shell.js';
import type { DeviceSpec } from './rig/types.js';

/**
 * What can cut and restore power to some devices of the rig: a device process (all its MCUs share its
 * fate, as the MCUs of one board share its supply) or a device's own switch commands.
 */
export interface PowerGroup {
  readonly name: string;
  readonly devices: readonly DeviceSpec[];
  off(): Promise<void>;
  on(): Promise<void>;
  /** Pulling the host-side cable or USB adapter instead of the power, when the rig can. */
  readonly unplug?: { off(): Promise<void>; on(): Promise<void> };
}

/** A process device: power off is SIGKILL (no goodbye), unplug is SIGTERM (its ports close cleanly). */
export function processGroup(proc: DeviceProcess, devices: readonly DeviceSpec[]): PowerGroup {
  return {
    name: proc.spec.name,
    devices,
    off: () => proc.stop('SIGKILL'),
    on: () => proc.start(),
    unplug: { off: () => proc.stop('SIGTERM'), on: () => proc.start() },
  };
}

export function commandGroup(device: DeviceSpec, cwd: string): PowerGroup | undefined {
  const p = device.power;
  if (p?.kind !== 'commands') return undefined;
  const u = p.unplug;
  return {
    name: device.name,
    devices: [device],
    off: () => runShell(p.off, cwd),
    on: () => runShell(p.on, cwd),
    ...(u ? { unplug: { off: () => runShell(u.off, cwd), on: () => runShell(u.on, cwd) } } : {}),
  };
}

/** The power groups of a rig: one per process that carries devices, one per switched device. */
export function powerGroups(
  devices: readonly DeviceSpec[],
  processes: ReadonlyMap<string, DeviceProcess>,
  cwd: string,
): PowerGroup[] {
  const groups: PowerGroup[] = [];
  for (const [name, proc] of processes) {
    const on = devices.filter((d) => d.power?.kind === 'process' && d.power.process === name);
    if (on.length > 0) groups.push(processGroup(proc, on));
  }
  for (const d of devices) {
    const g = commandGroup(d, cwd);
    if (g) groups.push(g);
  }
  return groups;
}
