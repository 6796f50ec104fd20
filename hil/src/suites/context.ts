import type { ApiClient } from '@mcubus/host';
import type { PowerGroup } from '../power.js';
import type { CaseResult } from '../report/model.js';
import type { RigSpec } from '../rig/types.js';

/** What every suite is given: the rig, the daemon's API, the power switches, and the run's options. */
export interface SuiteContext {
  readonly rig: RigSpec;
  readonly client: ApiClient;
  readonly groups: readonly PowerGroup[];
  readonly workDir: string;
  readonly seed: number;
  /** --duration: how long the soak runs, overriding the rig file, s. */
  readonly soakDurationS?: number;
  /** Progress lines for the operator (standard error). */
  readonly log: (line: string) => void;
}

export interface Suite {
  readonly name: string;
  /** One line for --help. */
  readonly about: string;
  run(ctx: SuiteContext): Promise<CaseResult[]>;
}

export function groupOf(ctx: SuiteContext, address: number): PowerGroup | undefined {
  return ctx.groups.find((g) => g.devices.some((d) => d.address === address));
}

export function hex(address: number): string {
  return `0x${address.toString(16).padStart(2, '0')}`;
}
