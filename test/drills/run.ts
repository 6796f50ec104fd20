import { generateKeyPairSync } from 'node:crypto';
import {
  buildBoard,
  buildSignedImage,
  DEFAULT_RECEIVER_CONFIG,
  type FlashStorage,
  type ForwardIntercept,
  factoryStorage,
  NS_PER_S,
  referenceBoard,
  SIM_SIGNING_KEY,
  type SimBoard,
} from '@mcubus/firmware-sim';
import { type Daemon, type EventView, UpdateRefused, type UpdateView } from '@mcubus/host';
import { signManifest } from '@mcubus/protocol';
import { advance, daemonOn, settle, stateDirs } from '../support/sim-daemon.js';
import {
  appendBeyondEnd,
  dripChunks,
  freezeChunks,
  resignWithOwnKey,
  rewriteBegin,
  rewriteChunks,
  stripSignature,
} from './attacks.js';

/**
 * Security drills (docs/reliability.md "Security drills"): Uptane-style attacks on a primary (the
 * daemon) updating a secondary (node-a, 0x21, on CAN behind the gateway 0x10 of the simulated reference
 * board). Each threat is tried twice: handed to the daemon (the host must refuse it before a byte goes,
 * or detect it within its bound), and slipped past the daemon by a compromised gateway that rewrites,
 * adds, delays or withholds the update traffic it forwards (the device must refuse or detect it). Every
 * outcome is read back from the daemon's journal: the event that names it.
 */
export type Threat =
  | 'unsigned'
  | 'wrong_key'
  | 'tampered_byte'
  | 'wrong_hardware'
  | 'rollback'
  | 'mix_and_match'
  | 'endless_data'
  | 'slow_retrieval'
  | 'freeze';

export interface SideResult {
  /** Refused (before any byte of the image went) or detected (during or after the transfer), or neither. */
  readonly outcome: 'refused' | 'detected' | 'missed';
  /** The refusal's or failure's code: UpdateRefused code, `data.reason`, or the device's error code. */
  readonly code: string;
  /** The journal entry that says so: kind and message. */
  readonly event: string;
  /** Virtual seconds from the start of the update to that entry. */
  readonly afterS: number;
  /** The configured bound it had to beat, if the threat is one of time. */
  readonly boundS?: number;
  /** Anything else checked (bytes of the image sent, what the device holds). */
  readonly note?: string;
}

export interface DrillResult {
  readonly threat: Threat;
  readonly host: SideResult;
  readonly device: SideResult;
}

/** The drills' bounds: short enough to run quickly, set in the same configuration a user would. */
export const DRILL_BOUNDS = {
  hostStallS: 30,
  hostMinProgressBytes: 16 * 1024,
  // Longer than the host's: a device that gave up first would end the host's transfer by timeouts.
  deviceIdleS: 40,
  deviceMinProgressBytes: 24 * 1024,
};

const TARGET = 0x21;
const HW = 'mcubus-ref-node';
const SIZE = 40 * 1024;

interface Ctx {
  readonly board: SimBoard;
  readonly daemon: Daemon;
  readonly events: { atS: number; e: EventView }[];
  readonly nowS: () => number;
}

const dirs = stateDirs('mcubus-drills-');

function boot(seed: number): Ctx {
  const spec = referenceBoard();
  const board = buildBoard(spec, seed, {
    storageFor: (m, sim) =>
      factoryStorage(m, sim, undefined, {
        receiver: {
          ...DEFAULT_RECEIVER_CONFIG,
          idleTimeoutNs: DRILL_BOUNDS.deviceIdleS * NS_PER_S,
          minProgressBytes: DRILL_BOUNDS.deviceMinProgressBytes,
        },
      }),
  });
  const { daemon } = daemonOn(board, dirs.make(), {
    trustedKeys: [SIM_SIGNING_KEY.publicKey],
    updateStall: {
      stallMs: DRILL_BOUNDS.hostStallS * 1000,
      minProgressBytes: DRILL_BOUNDS.hostMinProgressBytes,
    },
  });
  const nowS = () => board.sim.now / NS_PER_S;
  const events: Ctx['events'] = [];
  daemon.subscribe((e) => events.push({ atS: nowS(), e }));
  void daemon.start();
  board.sim.runFor(5 * NS_PER_S);
  return { board, daemon, events, nowS };
}

const signed = (
  version: number[],
  opts: { hardwareId?: string; securityCounter?: number; seed?: string } = {},
) =>
  buildSignedImage(
    {
      hardwareId: opts.hardwareId ?? HW,
      kind: 0,
      version,
      size: SIZE,
      ...(opts.securityCounter !== undefined ? { securityCounter: opts.securityCounter } : {}),
      ...(opts.seed ? { contentSeed: opts.seed } : {}),
    },
    SIM_SIGNING_KEY.privateKey,
  );
type Image = ReturnType<typeof signed>;

const receiverOf = (c: Ctx) => (c.board.mcus.get('node-a')!.storage as FlashStorage).receiver;

/** The host side: the daemon is handed the image; it must throw UpdateRefused and journal why. */
function hostRefusal(c: Ctx, image: Image, note = ''): SideResult {
  const t0 = c.nowS();
  const sessions = receiverOf(c).stats.sessions;
  const from = c.events.length;
  let code = 'accepted';
  try {
    void c.daemon.update(TARGET, image, { trialMs: 1000 });
  } catch (e) {
    if (!(e instanceof UpdateRefused)) throw e;
    code = e.code;
  }
  const entry = c.events.slice(from).find((x) => x.e.kind === 'update.refused');
  const sent = receiverOf(c).stats.sessions - sessions;
  return {
    outcome: code !== 'accepted' && entry ? 'refused' : 'missed',
    code,
    event: entry ? `${entry.e.kind}: ${entry.e.message}` : '(none)',
    afterS: entry ? entry.atS - t0 : Number.NaN,
    note: `${sent === 0 ? 'no' : sent} session opened on the device${note}`,
  };
}

/**
 * An update of a good image while the gateway runs `intercept`: waits for the update to end and
 * reads what the device said (its LOG, journaled as device.log) and how the update ended.
 */
async function throughCompromisedGateway(
  c: Ctx,
  image: Image,
  intercept: ForwardIntercept,
  limitS = 300,
): Promise<{
  view: UpdateView;
  t0: number;
  /** When the host sent each UPDATE_BEGIN (its update.begin entries), and for which session. */
  begins: { atS: number; session: string }[];
  deviceLog: { atS: number; e: EventView }[];
  failed?: { atS: number; e: EventView };
}> {
  c.board.mcus.get('gw')!.compromise(intercept);
  const t0 = c.nowS();
  const from = c.events.length;
  const view = await settle(c.board, c.daemon.update(TARGET, image, { trialMs: 1000 }), limitS * 1000);
  c.board.mcus.get('gw')!.compromise(null);
  // The device may see it later than the host (its own bound runs from its last chunk).
  if (view.phase !== 'done') await advance(c.board, DRILL_BOUNDS.deviceIdleS + 5);
  const mine = c.events.slice(from).filter((x) => x.e.device === TARGET);
  const failed = mine.find((x) => x.e.kind === 'update.failed');
  return {
    view,
    t0,
    begins: mine
      .filter((x) => x.e.kind === 'update.begin')
      .map((x) => ({ atS: x.atS, session: /opening session (\d+)/.exec(x.e.message)?.[1] ?? '?' })),
    deviceLog: mine.filter((x) => x.e.kind === 'device.log' && /update (refused|stalled)/.test(x.e.message)),
    ...(failed ? { failed } : {}),
  };
}

/** When the session open at `atS` was first begun (a BEGIN again after timeouts keeps it). */
function sessionStart(begins: { atS: number; session: string }[], atS: number, t0: number): number {
  const before = begins.filter((b) => b.atS <= atS);
  const last = before.at(-1);
  return before.find((b) => b.session === last?.session)?.atS ?? t0;
}

const reasonOf = (e: EventView | undefined) =>
  String((e?.data as { reason?: string } | undefined)?.reason ?? '(none)');

/** The device side, from its own LOG line and the daemon's update.failed entry. */
function deviceSide(
  r: Awaited<ReturnType<typeof throughCompromisedGateway>>,
  expectFailure: boolean,
  boundS?: number,
): SideResult {
  const log = r.deviceLog[0];
  const code = log
    ? (/update (?:refused: ([a-z_]+)|(stalled))/.exec(log.e.message)?.slice(1).find(Boolean) ?? '?')
    : '(none)';
  const ok = expectFailure ? r.view.phase === 'failed' : r.view.phase === 'done';
  return {
    outcome: log && ok ? 'detected' : 'missed',
    code,
    event: log ? `device.log: ${log.e.message}` : '(no device log)',
    // From the start of the session it ended: the host opens a new one when it changes the chunk size.
    afterS: log ? log.atS - sessionStart(r.begins, log.atS, r.t0) : Number.NaN,
    ...(boundS !== undefined ? { boundS } : {}),
    note: `update ${r.view.phase}${r.failed ? ` (reason ${reasonOf(r.failed.e)})` : ''}; ${r.view.acked}/${r.view.size} bytes acknowledged`,
  };
}

/** The host side of a threat only seen during the transfer: the update.failed entry and its reason. */
function hostDetection(
  r: Awaited<ReturnType<typeof throughCompromisedGateway>>,
  boundS?: number,
): SideResult {
  const f = r.failed;
  return {
    outcome: f ? 'detected' : 'missed',
    code: reasonOf(f?.e),
    event: f ? `${f.e.kind}: ${f.e.message}` : '(no update.failed)',
    afterS: f ? f.atS - r.t0 : Number.NaN,
    ...(boundS !== undefined ? { boundS } : {}),
  };
}

const flipByte = (image: Uint8Array, at: number) => {
  const out = image.slice();
  out[at]! ^= 0x01;
  return out;
};

/** Every drill, in the order of the issue's list. `seed` varies the boards' randomness. */
export async function runDrills(seed = 1): Promise<DrillResult[]> {
  const results: DrillResult[] = [];
  try {
    const v = (n: number) => [1, 1, n];
    {
      const c = boot(seed);
      const good = signed(v(0));
      results.push({
        threat: 'unsigned',
        host: hostRefusal(c, { ...good, envelope: stripSignature(good.envelope) }),
        device: deviceSide(
          await throughCompromisedGateway(
            c,
            good,
            rewriteBegin(TARGET, (b) => ({ ...b, manifest: stripSignature(b.manifest!) })),
          ),
          true,
        ),
      });
    }
    {
      const c = boot(seed + 1);
      const good = signed(v(0));
      const other = generateKeyPairSync('ed25519');
      results.push({
        threat: 'wrong_key',
        host: hostRefusal(c, { ...good, envelope: signManifest(good.manifest, other.privateKey) }),
        device: deviceSide(
          await throughCompromisedGateway(
            c,
            good,
            rewriteBegin(TARGET, (b) => ({ ...b, manifest: resignWithOwnKey(b.manifest!) })),
          ),
          true,
        ),
      });
    }
    {
      const c = boot(seed + 2);
      const good = signed(v(0));
      const at = 4096 + 17;
      results.push({
        threat: 'tampered_byte',
        host: hostRefusal(c, { ...good, image: flipByte(good.image, at) }),
        device: deviceSide(
          await throughCompromisedGateway(
            c,
            good,
            rewriteChunks(TARGET, (offset, data) =>
              offset <= at && at < offset + data.length ? flipByte(data, at - offset) : data,
            ),
          ),
          true,
        ),
      });
    }
    {
      const c = boot(seed + 3);
      const good = signed(v(0));
      const foreign = signed(v(0), { hardwareId: 'mcubus-ref-modbus' });
      results.push({
        threat: 'wrong_hardware',
        host: hostRefusal(c, foreign),
        device: deviceSide(
          await throughCompromisedGateway(
            c,
            good,
            // A genuine image, signed by the real key, for another board: replayed to this one.
            rewriteBegin(TARGET, (b) => ({
              ...b,
              manifest: foreign.envelope,
              size: foreign.manifest.size,
              sha256: foreign.manifest.sha256,
            })),
          ),
          true,
        ),
      });
    }
    {
      const c = boot(seed + 4);
      // The device runs (and has confirmed) an image with security counter 5.
      const five = signed([1, 2, 0], { securityCounter: 5 });
      const installed = await settle(c.board, c.daemon.update(TARGET, five, { trialMs: 1000 }), 120_000);
      if (installed.phase !== 'done')
        throw new Error(`rollback drill: installing counter 5: ${installed.detail}`);
      // An old genuine image (counter 4) under a newer version number, and a genuine newer one.
      const old = signed([1, 3, 0], { securityCounter: 4, seed: 'old' });
      const next = signed([1, 4, 0], { securityCounter: 5 });
      results.push({
        threat: 'rollback',
        host: hostRefusal(c, old),
        device: deviceSide(
          await throughCompromisedGateway(
            c,
            next,
            rewriteBegin(TARGET, (b) => ({
              ...b,
              manifest: old.envelope,
              size: old.manifest.size,
              sha256: old.manifest.sha256,
            })),
          ),
          true,
        ),
      });
    }
    {
      const c = boot(seed + 5);
      const a = signed(v(0));
      const b = signed(v(0), { seed: 'other image' });
      results.push({
        threat: 'mix_and_match',
        host: hostRefusal(c, { ...a, image: b.image }),
        device: deviceSide(
          await throughCompromisedGateway(
            c,
            a,
            rewriteChunks(TARGET, (offset, data) => b.image.slice(offset, offset + data.length)),
          ),
          true,
        ),
      });
    }
    {
      const c = boot(seed + 6);
      const good = signed(v(0));
      const longer = new Uint8Array(SIZE + 1024 * 1024);
      longer.set(good.image);
      const r = await throughCompromisedGateway(c, good, appendBeyondEnd(TARGET, SIZE));
      results.push({
        threat: 'endless_data',
        host: hostRefusal(c, { ...good, image: longer }, `; 1 MiB beyond the ${SIZE} signed bytes offered`),
        // The extra chunks are refused and the genuine update still completes.
        device: deviceSide(r, false),
      });
    }
    {
      const c = boot(seed + 7);
      const good = signed(v(0));
      const r = await throughCompromisedGateway(
        c,
        good,
        // 1 KiB every 2 s: 15 KiB in the host's 30 s, below its 16 KiB; no 20 timeouts in a row.
        dripChunks(TARGET, c.board.sim.scheduler, 2 * NS_PER_S),
      );
      results.push({
        threat: 'slow_retrieval',
        host: hostDetection(r, DRILL_BOUNDS.hostStallS),
        device: deviceSide(r, true, DRILL_BOUNDS.deviceIdleS),
      });
    }
    {
      const c = boot(seed + 8);
      const good = signed(v(0));
      const r = await throughCompromisedGateway(c, good, freezeChunks(TARGET, 12));
      results.push({
        threat: 'freeze',
        host: hostDetection(r, DRILL_BOUNDS.hostStallS),
        device: deviceSide(r, true, DRILL_BOUNDS.deviceIdleS),
      });
    }
  } finally {
    dirs.cleanup();
  }
  return results;
}
