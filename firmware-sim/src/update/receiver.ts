import {
  type BodyOf,
  buildSack,
  CauseCounters,
  compareVersions,
  ErrorCode,
  enumName,
  type Message,
  type MessageName,
  sha256Digest,
  verifySignedManifest,
} from '@mcubus/protocol';
import type { Bootloader, BootloaderDeps } from '../boot/bootloader.js';
import { headerCapacity } from '../boot/image-header.js';
import { inspectSlot } from '../boot/slot-check.js';
import { commitBootloaderSlot, writeSlotHeader } from '../boot/slot-writer.js';
import {
  SLOT_INDICES,
  type SlotIndex,
  slotCapacity,
  slotImageOffset,
  slotLoadAddress,
  slotRegion,
} from '../flash/layout.js';
import { NS_PER_S, type SimTime } from '../kernel/scheduler.js';
import { ChunkWriter } from './chunk-writer.js';
import {
  DEFAULT_RECEIVER_CONFIG,
  flashWriteUs,
  MAX_WINDOW,
  type ReceiverConfig,
  receiverConfigProblems,
} from './config.js';
import { type ErrorCodeName, errorReply, fitText, okReply } from './replies.js';
import type { RunningImage } from './running.js';

import { type Session, WIRE_STATE } from './session.js';
import { bytesEqual, chooseTarget, resumePoint, sameImage } from './target.js';

/** Device log levels the receiver uses (LOG `level`: 0 debug, 1 info, 2 warning, 3 error). */
export type ReceiverLogLevel = 0 | 1 | 2 | 3;

/** Where the receiver's log lines go (the MCU sends them to the host as LOG events). */
export type ReceiverLog = (level: ReceiverLogLevel, text: string, module?: string) => void;

/** The receiver works on the bootloader's flash and state, and asks it to mark and confirm slots. */
export interface UpdateReceiverDeps extends BootloaderDeps {
  readonly bootloader: Bootloader;
  /**
   * Device log: every refusal (`update refused: <code>: <text>`, at most one line per code per second,
   * counting the ones held back) and every session dropped for inactivity. Absent: nothing is logged.
   */
  readonly log?: ReceiverLog;
}

/** At most one `update refused` line per error code in this much time. */
export const REFUSAL_LOG_INTERVAL_NS: SimTime = NS_PER_S;

/** Chunks dropped without being stored, by cause. */
export type DropCause =
  | 'no_session'
  | 'other_session'
  | 'duplicate'
  | 'beyond_window'
  | 'session_failed'
  | 'not_running';

type Send = (m: Message) => void;

/**
 * The device side of UPDATE_* (docs/protocol.md §4.1, §5 "Update transfer"), the same in application
 * and bootloader mode. Chunks go straight into the target slot; the resume point (image hash + bytes
 * stored) is kept in the power-safe boot state, so a transfer survives link loss, resets and power cuts.
 */
export class UpdateReceiver {
  readonly config: ReceiverConfig;
  readonly drops = new CauseCounters<DropCause>();
  readonly errorsSent = new CauseCounters<ErrorCodeName>();
  readonly stats = {
    sessions: 0,
    resumedBytes: 0,
    chunksStored: 0,
    acksSent: 0,
    progressWrites: 0,
    /** Sessions dropped from RAM after idleTimeoutNs without data (or, once received, any request). */
    stalledSessions: 0,
    /** Refusal log lines held back by the per-code rate limit. */
    refusalLogsSuppressed: 0,
  };
  #session: Session | null = null;
  #running: RunningImage | null = null;
  /** A request that takes time (signature check, hashing, a flash write) is in progress. */
  #busy: MessageName | null = null;
  #epoch = 0;
  /** Per error code: when its last `update refused` line went out, and how many were held back since. */
  #refusalLog = new Map<ErrorCodeName, { at: SimTime; suppressed: number }>();

  constructor(
    readonly deps: UpdateReceiverDeps,
    config: Partial<ReceiverConfig> = {},
  ) {
    this.config = { ...DEFAULT_RECEIVER_CONFIG, ...config };
    const problems = receiverConfigProblems(this.config, deps.flash.config.writeUnit);
    if (problems.length > 0) throw new RangeError(`update receiver ${deps.name}: ${problems.join('; ')}`);
  }

  get session(): Readonly<Session> | null {
    return this.#session;
  }

  get flashWriteUs(): number {
    return flashWriteUs(this.deps.flash.config, this.config.maxChunk);
  }

  /** The boot finished: this is what runs (RAM state starts empty, as after any reset). */
  start(running: RunningImage): void {
    this.powerOff();
    this.#running = running;
  }

  /** Reset or power loss: RAM state is gone and callbacks still under way are ignored. */
  powerOff(): void {
    this.#epoch++;
    this.#session = null;
    this.#running = null;
    this.#busy = null;
    this.#refusalLog.clear();
  }

  /**
   * Handles one UPDATE_* message. `reply` answers it (UPDATE_STATUS, OK or ERROR; CHUNK is answered
   * only by ERROR), `sendEvent` sends UPDATE_ACKs. Returns false for other message types.
   */
  handle(message: Message, reply: Send, sendEvent: Send): boolean {
    if (
      !message.type.startsWith('update_') ||
      message.type === 'update_ack' ||
      message.type === 'update_status'
    ) {
      return false;
    }
    if (!this.#running) {
      if (message.type === 'update_chunk') this.drops.add('not_running');
      else this.#fail(reply, message.type, 'bad_state', 'not running');
      return true;
    }
    // Once every byte is in, any update request counts as the host still being there (idle timeout).
    const waiting = this.#session;
    if (waiting && waiting.state !== 'receiving') waiting.lastActivityNs = this.deps.sim.now;
    const long = ['update_begin', 'update_verify', 'update_activate', 'update_confirm', 'update_abort'];
    if (this.#busy && long.includes(message.type)) {
      this.#fail(reply, message.type, 'busy', `${this.#busy} in progress`);
      return true;
    }
    switch (message.type) {
      case 'update_begin':
        this.#begin(message.body, reply);
        break;
      case 'update_chunk':
        this.#chunk(message.body, reply, sendEvent);
        break;
      case 'update_verify':
        this.#verify(message.body, reply);
        break;
      case 'update_activate':
        this.#activate(message.body, reply);
        break;
      case 'update_confirm':
        this.#confirm(message.body, reply);
        break;
      case 'update_abort':
        this.#abort(message.body, reply);
        break;
      case 'update_status_req':
        this.#statusReq(message.body, reply);
        break;
    }
    return true;
  }

  // ── UPDATE_BEGIN ─────────────────────────────────────────────────────────────────────────────

  #begin(b: BodyOf<'update_begin'>, reply: Send): void {
    const fail = (code: ErrorCodeName, text: string, detail?: number) =>
      this.#fail(reply, 'update_begin', code, text, detail);
    const unit = this.deps.flash.config.writeUnit;
    if (b.kind !== 0 && b.kind !== 1) {
      fail('bad_request', `image kind ${b.kind}`);
      return;
    }
    if (b.chunkSize === 0 || b.chunkSize % unit !== 0) {
      fail('bad_request', `chunkSize must be a multiple of ${unit}`, unit);
      return;
    }
    if (b.chunkSize > this.config.maxChunk) {
      fail('too_large', 'chunkSize above maxChunk', this.config.maxChunk);
      return;
    }
    if (b.size === 0) {
      fail('bad_request', 'empty image');
      return;
    }
    if (!b.manifest) {
      fail('bad_request', 'a signed manifest is required');
      return;
    }
    const capacity = headerCapacity(this.deps.layout.sectorSize);
    if (b.manifest.length > capacity) {
      fail('too_large', 'manifest larger than the slot header', capacity);
      return;
    }
    const current = this.#session;
    if (
      current &&
      current.state !== 'failed' &&
      current.kind === b.kind &&
      current.size === b.size &&
      current.chunkSize === b.chunkSize &&
      bytesEqual(current.sha256, b.sha256)
    ) {
      // A retransmitted BEGIN, or the host reopening the same image under a new session id after a
      // link loss: keep everything RAM knows (more than the persisted resume point).
      current.id = b.session;
      current.lastActivityNs = this.deps.sim.now;
      reply(this.#status(current));
      return;
    }
    this.#busy = 'update_begin';
    this.#after(this.deps.timing.signatureVerifyNs, () => {
      this.#busy = null;
      this.#beginChecked(b as BodyOf<'update_begin'> & { manifest: Uint8Array; kind: 0 | 1 }, reply);
    });
  }

  #beginChecked(b: BodyOf<'update_begin'> & { manifest: Uint8Array; kind: 0 | 1 }, reply: Send): void {
    const fail = (code: ErrorCodeName, text: string, detail?: number) =>
      this.#fail(reply, 'update_begin', code, text, detail);
    const { device, layout, store } = this.deps;
    const running = this.#running!;
    const verified = verifySignedManifest(b.manifest, device.trustedKeys);
    if (!verified.ok) {
      // An envelope without its signature (or with a malformed one) is an unsigned image: named as
      // such, not as a bad request. Garbage, or a signed manifest that is itself malformed, is not.
      const unsigned =
        verified.error.code === 'schema' &&
        verified.error.at.startsWith('signed_manifest') &&
        /signature/.test(`${verified.error.at} ${verified.error.message}`);
      const code =
        (verified.error.code === 'bad_cbor' || verified.error.code === 'schema') && !unsigned
          ? 'bad_request'
          : 'signature_invalid';
      fail(code, verified.error.message);
      return;
    }
    const m = verified.value;
    if (m.kind !== b.kind || m.size !== b.size) {
      fail('bad_request', 'the manifest describes another image');
      return;
    }
    if (!bytesEqual(m.sha256, b.sha256)) {
      fail('hash_mismatch', 'manifest sha256 differs from UPDATE_BEGIN');
      return;
    }
    if (m.hardwareId !== device.hardwareId) {
      fail('hardware_mismatch', `image is for ${m.hardwareId}`);
      return;
    }
    const floor = this.#securityFloor(b.kind);
    if (m.securityCounter < floor) {
      fail('downgrade_rejected', `security counter below ${floor}`, floor);
      return;
    }
    if (b.kind === 1 && compareVersions(m.version, running.blManifest.version) <= 0) {
      // The first stage starts the highest version: an older or equal bootloader would never run.
      fail('downgrade_rejected', `bootloader ${m.version.join('.')} is not newer than the running one`);
      return;
    }
    const slot = chooseTarget(b.kind, store.state, running, () => this.#bootableApp());
    if (slot === null) {
      fail('bad_state', 'a test image runs and the other slot is the fallback: confirm or reset first');
      return;
    }
    const region = slotRegion(layout, b.kind, slot);
    const room = slotCapacity(layout, region);
    if (b.size > room) {
      fail('no_space', `slot holds ${room} bytes`, room);
      return;
    }
    const load = slotLoadAddress(layout, region);
    if (m.loadAddress !== undefined && m.loadAddress !== load) {
      fail(
        'bad_request',
        `image is linked for 0x${m.loadAddress.toString(16)}; the free slot runs at 0x${load.toString(16)}`,
        load,
      );
      return;
    }
    const key = { kind: b.kind, slot, size: b.size, sha256: b.sha256.slice(), chunkSize: b.chunkSize };
    const received = resumePoint(store.state.progress, key, layout.sectorSize);
    const s: Session = {
      id: b.session,
      kind: b.kind,
      slot,
      region,
      size: b.size,
      sha256: key.sha256,
      chunkSize: b.chunkSize,
      envelope: b.manifest.slice(),
      manifest: m,
      writer: new ChunkWriter(this.deps.flash, layout, region, received === 0),
      state: received === b.size ? 'received' : 'receiving',
      cumulative: received,
      stored: new Set(),
      writing: new Set(),
      storedSinceAck: 0,
      gapReported: false,
      persisted: received,
      persisting: false,
      persistAgain: false,
      error: null,
      sendEvent: null,
      erasingChunk: null,
      lastActivityNs: this.deps.sim.now,
      windowFromNs: this.deps.sim.now,
      windowFromBytes: received,
    };
    this.stats.sessions++;
    this.stats.resumedBytes += received;
    this.#session = s;
    this.#busy = 'update_begin';
    // Persist the transfer before touching the slot: from now on a reset resumes this image, and a
    // pending test boot of this slot is withdrawn before its image is overwritten.
    store.update(
      (st) => ({
        progress: { kind: s.kind, slot, size: s.size, received, sha256: s.sha256 },
        ...(s.kind === 0 && st.pending === slot ? { pending: null, testAttempted: false } : {}),
      }),
      this.#guard((r) => {
        this.#busy = null;
        if (this.#session !== s) return;
        if (!r.ok) {
          this.#session = null;
          return fail('flash_error', r.error.message);
        }
        this.deps.sim.record(
          this.deps.name,
          'update_begin',
          `session ${s.id} slot ${'AB'[slot]} from ${received}/${s.size}`,
        );
        s.lastActivityNs = this.deps.sim.now;
        this.#watchIdle(s, this.config.idleTimeoutNs);
        reply(this.#status(s));
      }),
    );
  }

  // ── UPDATE_CHUNK ─────────────────────────────────────────────────────────────────────────────

  #chunk(b: BodyOf<'update_chunk'>, reply: Send, sendEvent: Send): void {
    const s = this.#session;
    if (!s) {
      this.drops.add('no_session');
      return;
    }
    if (b.session !== s.id) {
      this.drops.add('other_session');
      return;
    }
    const fail = (code: ErrorCodeName, text: string, detail?: number) =>
      this.#fail(reply, 'update_chunk', code, text, detail);
    if (s.state === 'failed') {
      this.drops.add('session_failed');
      fail(errorName(s.error), 'the session failed: UPDATE_BEGIN resumes it');
      return;
    }
    s.sendEvent = sendEvent;
    if (b.offset % s.chunkSize !== 0 || b.offset >= s.size) {
      fail('bad_offset', `offset ${b.offset} is not a chunk of this image`, s.cumulative);
      return;
    }
    const expected = Math.min(s.chunkSize, s.size - b.offset);
    if (b.data.length !== expected) {
      fail('bad_request', `chunk at ${b.offset} must have ${expected} bytes`, expected);
      return;
    }
    const index = b.offset / s.chunkSize;
    if (b.offset < s.cumulative || s.stored.has(index) || s.writing.has(index)) {
      this.drops.add('duplicate');
      // The host resent it because an ACK went missing: tell it again (unless the write is under way).
      if (!s.writing.has(index)) this.#ack(s);
      return;
    }
    if (index >= s.cumulative / s.chunkSize + this.#windowOf(s)) {
      this.drops.add('beyond_window');
      this.#ack(s);
      return;
    }
    s.writing.add(index);
    if (s.writer.needsErase(b.offset, b.data.length)) s.erasingChunk = index;
    s.writer.write(
      b.offset,
      b.data,
      this.#guard((r) => {
        if (this.#session !== s) return;
        s.writing.delete(index);
        if (s.erasingChunk === index) s.erasingChunk = null;
        if (!r.ok) {
          s.state = 'failed';
          s.error = ErrorCode.flash_error;
          return fail('flash_error', r.error.message, b.offset);
        }
        this.#stored(s, index);
      }),
    );
  }

  #stored(s: Session, index: number): void {
    s.lastActivityNs = this.deps.sim.now;
    s.stored.add(index);
    this.stats.chunksStored++;
    s.storedSinceAck++;
    const before = s.cumulative;
    let next = s.cumulative / s.chunkSize;
    while (s.stored.delete(next)) next++;
    s.cumulative = Math.min(next * s.chunkSize, s.size);
    const advanced = s.cumulative > before;
    if (s.cumulative === s.size) s.state = 'received';
    const gap = s.stored.size > 0;
    if (!gap) s.gapReported = false;
    const half = Math.max(1, Math.floor(this.#windowOf(s) / 2));
    if (gap && !s.gapReported) {
      // A chunk landed beyond a hole: the host learns of the loss now, not after a timeout.
      s.gapReported = true;
      this.#ack(s);
    } else if (advanced && (s.writing.size === 0 || s.state === 'received')) {
      this.#ack(s);
    } else if (s.storedSinceAck >= half) {
      this.#ack(s);
    }
    if (advanced) this.#persist(s);
  }

  #ack(s: Session): void {
    if (!s.sendEvent) return;
    const sack = buildSack(Math.ceil(s.cumulative / s.chunkSize), s.stored);
    s.storedSinceAck = 0;
    this.stats.acksSent++;
    s.sendEvent({
      type: 'update_ack',
      body: {
        session: s.id,
        cumulative: s.cumulative,
        ...(sack ? { sack } : {}),
        window: this.#windowOf(s),
      },
    });
  }

  /** Moves the persisted resume point up to the last sector- and chunk-aligned point below cumulative. */
  #persist(s: Session): void {
    // A failed session's bytes are suspect: its resume point only ever goes down (to 0 on a bad hash).
    if (s.state === 'failed') return;
    if (s.persisting) {
      s.persistAgain = true;
      return;
    }
    const point = resumePoint(
      { kind: s.kind, slot: s.slot, size: s.size, sha256: s.sha256, received: s.cumulative },
      s,
      this.deps.layout.sectorSize,
    );
    if (point <= s.persisted) return;
    s.persisting = true;
    this.stats.progressWrites++;
    this.deps.store.update(
      (st) =>
        st.progress && sameImage(st.progress, s) ? { progress: { ...st.progress, received: point } } : {},
      this.#guard((r) => {
        s.persisting = false;
        if (r.ok) s.persisted = point;
        if (this.#session === s && s.persistAgain) {
          s.persistAgain = false;
          this.#persist(s);
        }
      }),
    );
  }

  // ── UPDATE_VERIFY ────────────────────────────────────────────────────────────────────────────

  #verify(b: BodyOf<'update_verify'>, reply: Send): void {
    const s = this.#session;
    if (!s || b.session !== s.id) {
      this.#fail(reply, 'update_verify', 'bad_session', 'no such session');
      return;
    }
    if (s.state === 'verified' || s.state === 'activated' || s.state === 'failed') {
      reply(this.#status(s));
      return;
    }
    if (s.state !== 'received') {
      this.#fail(
        reply,
        'update_verify',
        'bad_state',
        `${s.cumulative} of ${s.size} bytes stored`,
        s.cumulative,
      );
      return;
    }
    s.state = 'verifying';
    this.#busy = 'update_verify';
    const { timing, flash, layout, sim, name } = this.deps;
    const cpu: SimTime = timing.signatureVerifyNs + s.size * timing.hashNsPerByte;
    this.#after(cpu, () => {
      if (this.#session !== s) return;
      const failed = (code: ErrorCodeName, text: string) => {
        this.#busy = null;
        s.state = 'failed';
        s.error = ErrorCode[code];
        s.lastActivityNs = sim.now;
        sim.record(name, 'update_verify', `session ${s.id} failed: ${code} (${text})`);
        this.errorsSent.add(code);
        this.#logRefusal(code, text);
        reply(this.#status(s));
      };
      const problem = this.#checkStored(s);
      if (problem) {
        if (problem === 'hash_mismatch') this.#forgetProgress(s);
        return failed(problem, 'stored image refused');
      }
      // Only now does the slot get its header: an image is never announced before its bytes are checked.
      writeSlotHeader(
        flash,
        layout,
        s.region,
        s.envelope,
        this.#guard((r) => {
          if (this.#session !== s) return;
          if (!r.ok) return failed('flash_error', r.error.message);
          const check = inspectSlot(
            flash,
            layout,
            s.kind,
            s.slot,
            this.deps.device,
            timing,
            this.#securityFloor(s.kind),
          );
          if (check.status !== 'valid') return failed('internal', `slot check after VERIFY: ${check.status}`);
          this.#busy = null;
          s.state = 'verified';
          s.lastActivityNs = sim.now;
          sim.record(name, 'update_verify', `session ${s.id} verified`);
          reply(this.#status(s));
        }),
      );
    });
  }

  #checkStored(s: Session): ErrorCodeName | null {
    const { flash, layout, device } = this.deps;
    const image = flash.read(slotImageOffset(layout, s.region), s.size);
    if (!bytesEqual(sha256Digest(image), s.sha256)) return 'hash_mismatch';
    // Checked at BEGIN already; again here because this is the last gate before the slot gets a header.
    const v = verifySignedManifest(s.envelope, device.trustedKeys);
    if (!v.ok) return 'signature_invalid';
    if (v.value.size !== s.size || !bytesEqual(v.value.sha256, s.sha256)) return 'hash_mismatch';
    if (v.value.hardwareId !== device.hardwareId) return 'hardware_mismatch';
    if (v.value.securityCounter < this.#securityFloor(s.kind)) return 'downgrade_rejected';
    return null;
  }

  /** Bad bytes somewhere: the next BEGIN must start from 0. */
  #forgetProgress(s: Session): void {
    s.persisted = 0;
    this.deps.store.update(
      (st) => (st.progress && sameImage(st.progress, s) ? { progress: { ...st.progress, received: 0 } } : {}),
      () => {},
    );
  }

  // ── UPDATE_ACTIVATE, UPDATE_CONFIRM, UPDATE_ABORT ────────────────────────────────────────────

  #activate(b: BodyOf<'update_activate'>, reply: Send): void {
    const s = this.#session;
    if (!s || b.session !== s.id) {
      this.#fail(reply, 'update_activate', 'bad_session', 'no such session');
      return;
    }
    if (s.state === 'activated') {
      reply(okReply('already activated'));
      return;
    }
    if (s.state !== 'verified') {
      this.#fail(reply, 'update_activate', 'bad_state', `session is ${s.state}`);
      return;
    }
    s.state = 'activating';
    this.#busy = 'update_activate';
    const done = this.#guard((r: { ok: boolean; message?: string }) => {
      this.#busy = null;
      if (this.#session !== s) return;
      if (!r.ok) {
        s.state = 'verified';
        return this.#fail(reply, 'update_activate', 'flash_error', r.message ?? 'boot state write failed');
      }
      s.state = 'activated';
      this.deps.sim.record(
        this.deps.name,
        'update_activate',
        `session ${s.id} slot ${'AB'[s.slot]} kind ${s.kind}`,
      );
      reply(okReply());
    });
    if (s.kind === 1) {
      const { flash, layout } = this.deps;
      commitBootloaderSlot(flash, layout, s.region, s.envelope, (r) =>
        done(r.ok ? { ok: true } : { ok: false, message: r.error.message }),
      );
    } else if (b.permanent) {
      this.deps.bootloader.confirm(s.slot, s.manifest.securityCounter, done);
    } else {
      this.deps.bootloader.markPending(s.slot, done);
    }
  }

  #confirm(b: BodyOf<'update_confirm'>, reply: Send): void {
    const running = this.#running!;
    if (running.mode !== 'app' || running.appSlot === null || !running.appManifest) {
      this.#fail(reply, 'update_confirm', 'bad_state', 'no application is running');
      return;
    }
    const slot = b.slot ?? running.appSlot;
    if (slot !== running.appSlot) {
      this.#fail(
        reply,
        'update_confirm',
        'bad_state',
        'only the running image can be confirmed',
        running.appSlot,
      );
      return;
    }
    const st = this.deps.store.state;
    if (st.confirmed === slot && st.pending !== slot) {
      reply(okReply('already confirmed'));
      return;
    }
    this.#busy = 'update_confirm';
    this.deps.bootloader.confirm(
      slot,
      running.appManifest.securityCounter,
      this.#guard((r: { ok: boolean; message?: string }) => {
        this.#busy = null;
        if (!r.ok)
          return this.#fail(reply, 'update_confirm', 'flash_error', r.message ?? 'boot state write failed');
        this.deps.sim.record(this.deps.name, 'update_confirm', `slot ${'AB'[slot]}`);
        reply(okReply());
      }),
    );
  }

  #abort(b: BodyOf<'update_abort'>, reply: Send): void {
    const s = this.#session;
    if (!s || b.session !== s.id) {
      this.#fail(reply, 'update_abort', 'bad_session', 'no such session');
      return;
    }
    if (s.state === 'activated') {
      this.#fail(reply, 'update_abort', 'bad_state', 'already activated: a reset test-boots it, or reverts');
      return;
    }
    // Stored data and the persisted resume point stay: a later BEGIN of the same image continues.
    this.#session = null;
    this.deps.sim.record(this.deps.name, 'update_abort', `session ${s.id} reason ${b.reason ?? 0}`);
    reply(okReply());
  }

  // ── UPDATE_STATUS ────────────────────────────────────────────────────────────────────────────

  #statusReq(b: BodyOf<'update_status_req'>, reply: Send): void {
    const s = this.#session;
    if (s && (!b.sha256 || bytesEqual(b.sha256, s.sha256))) {
      reply(this.#status(s));
      return;
    }
    const params = this.#params();
    if (!b.sha256) {
      reply({ type: 'update_status', body: { session: 0, state: 0, ...params } });
      return;
    }
    const p = this.deps.store.state.progress;
    const held =
      p && bytesEqual(p.sha256, b.sha256)
        ? { kind: p.kind, received: p.received, size: p.size }
        : { received: 0 };
    reply({ type: 'update_status', body: { session: 0, state: 0, sha256: b.sha256, ...held, ...params } });
  }

  #status(s: Session): Message {
    return {
      type: 'update_status',
      body: {
        session: s.id,
        state: WIRE_STATE[s.state],
        kind: s.kind,
        sha256: s.sha256,
        received: s.cumulative,
        size: s.size,
        ...this.#params(),
        window: this.#windowOf(s),
        ...(s.error !== null ? { error: s.error } : {}),
      },
    };
  }

  /**
   * Chunks accepted beyond the cumulative point: the RAM of `window` chunks of maxChunk, so a session
   * of smaller chunks (the Modbus tunnel carries 224-byte ones) gets a deeper pipeline from it.
   */
  #windowOf(s: Session): number {
    const byRam = Math.floor((this.config.window * this.config.maxChunk) / s.chunkSize);
    const window = Math.min(MAX_WINDOW, Math.max(this.config.window, byRam));
    if (!this.config.holdWindowForErase) return window;
    const base = s.cumulative / s.chunkSize;
    // An erase under way: nothing beyond its chunk until it is done.
    if (s.erasingChunk !== null) return Math.max(1, Math.min(window, s.erasingChunk - base + 1));
    for (let k = 0; k < window; k++) {
      const i = base + k;
      const offset = i * s.chunkSize;
      if (offset >= s.size) break;
      if (s.stored.has(i) || s.writing.has(i)) continue;
      // This chunk starts an erase: offer it, not what would arrive while the CPU stands still.
      if (s.writer.needsErase(offset, Math.min(s.chunkSize, s.size - offset))) return k + 1;
    }
    return window;
  }

  #params(): { maxChunk: number; window: number; flashWriteUs: number } {
    return { maxChunk: this.config.maxChunk, window: this.config.window, flashWriteUs: this.flashWriteUs };
  }

  // ── helpers ──────────────────────────────────────────────────────────────────────────────────

  /** Applications: the confirmed floor; bootloaders: the running bootloader's counter. */
  #securityFloor(kind: 0 | 1): number {
    if (kind === 1) return this.#running?.blManifest.securityCounter ?? 0;
    return this.deps.store.state.minSecurityCounter;
  }

  /** With nothing confirmed and nothing running: the slot the bootloader would start (kept intact). */
  #bootableApp(): SlotIndex | null {
    let best: { slot: SlotIndex; version: readonly number[] } | null = null;
    for (const slot of SLOT_INDICES) {
      const c = this.deps.bootloader.inspectApp(slot);
      if (c.status !== 'valid' || !c.manifest) continue;
      if (!best || compareVersions(c.manifest.version, best.version) > 0)
        best = { slot, version: c.manifest.version };
    }
    return best?.slot ?? null;
  }

  #fail(reply: Send, request: MessageName, code: ErrorCodeName, text: string, detail?: number): void {
    this.errorsSent.add(code);
    this.deps.sim.record(this.deps.name, 'update_error', `${request} ${code}: ${text}`);
    this.#logRefusal(code, text);
    reply(errorReply(request, code, text, detail));
  }

  /**
   * `update refused: <code>: <text>` as a device warning, at most one line per code per
   * REFUSAL_LOG_INTERVAL_NS: a flood of bad chunks is one line, and the next line of that code says how
   * many were held back.
   */
  #logRefusal(code: ErrorCodeName, text: string): void {
    const log = this.deps.log;
    if (!log) return;
    const now = this.deps.sim.now;
    const last = this.#refusalLog.get(code);
    if (last && now - last.at < REFUSAL_LOG_INTERVAL_NS) {
      last.suppressed++;
      this.stats.refusalLogsSuppressed++;
      return;
    }
    const held = last?.suppressed ?? 0;
    this.#refusalLog.set(code, { at: now, suppressed: 0 });
    const more = held > 0 ? ` (${held} more suppressed)` : '';
    log(2, `update refused: ${code}: ${fitText(text, 256)}${more}`, 'update');
  }

  /**
   * The idle timeout: one timer per session, re-armed lazily. When it fires it looks at the session's
   * last sign of life and sleeps again for what is left, so chunks never touch the scheduler.
   */
  #watchIdle(s: Session, delay: SimTime): void {
    this.#after(delay, () => {
      if (this.#session !== s) return; // replaced, aborted, or dropped: this timer ends with it
      if (s.state === 'failed' || s.state === 'activated') return; // waits for BEGIN, or for the reset
      const idle = this.config.idleTimeoutNs;
      const now = this.deps.sim.now;
      // Verifying and activating are the device's own work: the host waits for the answer.
      if (s.state === 'verifying' || s.state === 'activating' || s.writing.size > 0) s.lastActivityNs = now;
      const quiet = now - s.lastActivityNs;
      const slow = s.state === 'receiving' ? this.#tooSlow(s, now) : null;
      if (quiet < idle && slow === null) {
        const windowEnds = (this.config.minProgressBytes ?? 1) > 1 && s.state === 'receiving';
        this.#watchIdle(s, windowEnds ? Math.min(idle - quiet, s.windowFromNs + idle - now) : idle - quiet);
        return;
      }
      this.#session = null;
      this.stats.stalledSessions++;
      const what = s.state === 'receiving' ? 'data' : 'request';
      const secs = Math.round(quiet / 1_000_000) / 1000;
      const why = slow ?? `no ${what} for ${secs} s`;
      this.deps.sim.record(
        this.deps.name,
        'update_stalled',
        `session ${s.id} ${s.state} at ${s.cumulative}/${s.size}: ${why}`,
      );
      this.deps.log?.(2, `update stalled: ${why}; session dropped (resumable)`, 'update');
    });
  }

  /**
   * Slow retrieval (ReceiverConfig.minProgressBytes): every idleTimeoutNs of a receiving session must
   * store that many bytes (or the rest of the image). Checked when a window ends: a window that made it
   * starts the next; one that did not says why the session is dropped. Null: not too slow (yet).
   */
  #tooSlow(s: Session, now: SimTime): string | null {
    const min = this.config.minProgressBytes ?? 1;
    const idle = this.config.idleTimeoutNs;
    if (min <= 1 || now < s.windowFromNs + idle) return null;
    const moved = s.cumulative - s.windowFromBytes;
    const need = Math.min(min, s.size - s.windowFromBytes);
    if (moved >= need) {
      s.windowFromNs = now;
      s.windowFromBytes = s.cumulative;
      return null;
    }
    return `${moved} bytes in ${Math.round(idle / 1e6) / 1000} s, below ${need}`;
  }

  #after(ns: SimTime, fn: () => void): void {
    this.deps.sim.scheduler.after(ns, this.#guard(fn));
  }

  #guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    const epoch = this.#epoch;
    return (...args: A) => {
      if (epoch === this.#epoch) fn(...args);
    };
  }
}

function errorName(code: number | null): ErrorCodeName {
  const name = enumName(ErrorCode, code ?? ErrorCode.internal);
  return (name in ErrorCode ? name : 'internal') as ErrorCodeName;
}
