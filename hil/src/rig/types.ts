/**
 * A rig as data: what the rig file (YAML) says, validated. Paths are absolute and `${work}`/`${rig}`
 * are already substituted (rig/substitute.ts), so nothing downstream parses text again.
 */
export interface RigSpec {
  readonly name: string;
  /** The rig file's directory: relative paths and commands start there. */
  readonly dir: string;
  readonly daemon: DaemonSpec;
  readonly processes: readonly ProcessSpec[];
  readonly devices: readonly DeviceSpec[];
  readonly health: HealthSpec;
  readonly time: TimeSpec;
  readonly update: UpdateSpec;
  readonly soak: SoakSpec;
}

export interface DaemonSpec {
  /** argv of mcubusd; `node` runs under the rig's own Node. */
  readonly command: readonly string[];
  /** The mcubusd configuration as data (inline, or read from `configFile`). */
  readonly config: Readonly<Record<string, unknown>>;
}

/** A device process: "a command that serves a pty" (a simulator, a POSIX build of the firmware). */
export interface ProcessSpec {
  readonly name: string;
  readonly command: readonly string[];
  /** When it is serving: a line on its standard output matching `stdout`, or a path that exists. */
  readonly ready: { readonly stdout: RegExp } | { readonly path: string };
}

export type PowerSpec =
  /** The device lives in a rig process: cutting power kills it (SIGKILL), restoring starts it again. */
  | { readonly kind: 'process'; readonly process: string }
  /** Shell commands (a relay, a USB hub port): `off` cuts, `on` restores. */
  | { readonly kind: 'commands'; readonly off: string; readonly on: string; readonly unplug?: UnplugSpec };

export interface UnplugSpec {
  readonly off: string;
  readonly on: string;
}

export interface DeviceSpec {
  readonly name: string;
  readonly address: number;
  readonly hardwareId: string;
  /** The mcubusd bus it is reached through. */
  readonly bus: string;
  /** The gateway it is expected behind, or null for a device on the host's bus. */
  readonly via: number | null;
  readonly power?: PowerSpec;
}

export interface HealthSpec {
  /** How long after power returns every device of the group must be up again, s. */
  readonly maxUpS: number;
  /** Down must be seen within this many heartbeat intervals of the cut (the daemon's target: 2.5). */
  readonly maxDownPeriods: number;
}

export interface TimeSpec {
  /** How long a clock may take to be synced, s. */
  readonly settleS: number;
  /** How long the bound is watched once synced, s. */
  readonly watchS: number;
  /** The largest bound accepted, µs. */
  readonly maxBoundUs: number;
}

export type ImageSource =
  /** The rig builds and signs images for each device's hardware id. */
  | {
      readonly kind: 'generate';
      /** 'simulator' (the simulated MCUs' key) or the path of an Ed25519 private key (PEM). */
      readonly key: string;
      readonly sizeKiB: number;
      /** Version of the crashing image: the devices must crash when they boot it (mcubus-sim --crash-version). */
      readonly crashVersion: string;
    }
  /** Signed images per hardware id (manifest next to each, IMAGE.manifest). */
  | {
      readonly kind: 'files';
      readonly byHardwareId: ReadonlyMap<string, { first: string; second: string; crashing: string }>;
    };

export interface UpdateSpec {
  /** Addresses to update (default: every expected device). */
  readonly devices: readonly number[] | null;
  readonly trialMs: number;
  /** Power cuts during the interrupted update. */
  readonly powerCuts: number;
  readonly images: ImageSource | null;
  /** How long one update may take, s. */
  readonly timeoutS: number;
}

export interface SoakSpec {
  readonly durationS: number;
  readonly sampleEveryS: number;
  /** Largest share of pings that may go unanswered. */
  readonly maxPingLoss: number;
}
