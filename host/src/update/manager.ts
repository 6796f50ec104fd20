import type { KeyObject } from 'node:crypto';
import {
  compareVersions,
  formatVersion,
  type Message,
  sha256Digest,
  verifySignedManifest,
} from '@mcubus/protocol';
import type { Runtime } from '../daemon/runtime.js';
import type { Severity } from '../registry/journal.js';
import { type TransferProgress, type UpdateImage, type UpdatePhase, UpdateTransfer } from './transfer.js';

/**
 * Runs the daemon's updates: checks an image before a byte is sent, drives one UpdateTransfer per
 * device through the daemon's link, and reports progress and events. The daemon feeds it the
 * device's UPDATE_ACKs, HELLOs and health changes.
 */
export interface UpdateManagerDeps {
  readonly runtime: Runtime;
  /** Sends a request; resolves with the answer message, or an error string (timeout, no route). */
  request(
    dst: number,
    message: Message,
    timeoutMs: number,
    attempts?: number,
  ): Promise<{ ok: true; message: Message } | { ok: false; reason: string }>;
  /** Sends an event frame (UPDATE_CHUNK) once. */
  sendEvent(dst: number, message: Message): void;
  /** What the registry knows of the device; undefined = never heard from it. */
  device(address: number):
    | {
        hardwareId: string;
        firmwareVersion: readonly number[];
        bootloaderVersion: readonly number[];
        /** HELLO securityCounter: the running application's anti-rollback counter, if it says. */
        securityCounter?: number;
        mtu: number;
        /** FrameTransport.ackBatch of the bus the host reaches it on. */
        ackBatch: number;
      }
    | undefined;
  journal(kind: string, severity: Severity, message: string, extra: { device: number; data?: unknown }): void;
  random(): number;
}

export interface UpdateOptions {
  /** Send an image older than (or as old as) the running one; journaled. */
  readonly allowDowngrade?: boolean;
  readonly trialMs?: number;
  /** Largest chunk (default 1024 bytes; smaller ones lose less to line errors). */
  readonly chunkSize?: number;
}

/** Progress bound of every update (TransferConfig stallUs / minProgressBytes; config `updates`). */
export interface StallBound {
  readonly stallMs: number;
  readonly minProgressBytes: number;
}

export class UpdateRefused extends Error {
  constructor(
    readonly code:
      | 'unknown_device'
      | 'signature_invalid'
      | 'hardware_mismatch'
      | 'downgrade_rejected'
      /** The manifest's security counter is below the running image's: never allowed. */
      | 'rollback'
      | 'hash_mismatch'
      /** The bytes are longer (endless data) or shorter than the size the manifest signs. */
      | 'size_mismatch'
      | 'busy',
    message: string,
  ) {
    super(message);
    this.name = 'UpdateRefused';
  }
}

export interface UpdateView extends TransferProgress {
  readonly device: number;
  readonly version: string;
  readonly kind: 'app' | 'bootloader';
  /** Goodput so far (bytes acknowledged since the transfer started, per second). */
  readonly rateBps: number | null;
  readonly etaS: number | null;
}

interface Running {
  readonly device: number;
  readonly transfer: UpdateTransfer;
  readonly image: UpdateImage;
  wake: { cancel(): void } | null;
  readonly done: Promise<UpdateView>;
  resolve(v: UpdateView): void;
}

export class UpdateManager {
  readonly #d: UpdateManagerDeps;
  readonly #trusted: readonly KeyObject[];
  readonly #running = new Map<number, Running>();
  readonly #finished = new Map<number, UpdateView>();
  readonly #stall: StallBound | undefined;

  constructor(deps: UpdateManagerDeps, trustedKeys: readonly KeyObject[], stall?: StallBound) {
    this.#d = deps;
    this.#trusted = trustedKeys;
    this.#stall = stall;
  }

  /**
   * A refusal is journaled (`update.refused`, its code in `data.code`) before it is thrown: an
   * attempt to install a forged or replayed image is a security event, whoever asked for it.
   */
  #refuse(device: number, code: UpdateRefused['code'], message: string, data: object = {}): UpdateRefused {
    this.#d.journal('update.refused', 'warning', `0x${hex(device)}: update refused (${code}): ${message}`, {
      device,
      data: { code, ...data },
    });
    return new UpdateRefused(code, message);
  }

  /**
   * Checks the image against the device and starts the update. Refuses (UpdateRefused) before any
   * byte is sent: a signature that does not verify with a trusted key, another hardware id, a hash
   * that does not match the bytes, or a downgrade (unless allowed, which is journaled).
   */
  start(device: number, image: UpdateImage, options: UpdateOptions = {}): Promise<UpdateView> {
    const known = this.#d.device(device);
    // An unknown device or a busy one is no attack: thrown without an entry.
    if (!known) throw new UpdateRefused('unknown_device', `no device at 0x${hex(device)}`);
    if (this.#running.has(device))
      throw new UpdateRefused('busy', `0x${hex(device)} is already being updated`);
    const v = verifySignedManifest(image.envelope, this.#trusted);
    if (!v.ok)
      throw this.#refuse(device, 'signature_invalid', `the manifest does not verify: ${v.error.message}`, {
        error: v.error.code,
      });
    const m = v.value;
    const about = { version: formatVersion(m.version), hardwareId: m.hardwareId };
    if (m.hardwareId !== known.hardwareId)
      throw this.#refuse(
        device,
        'hardware_mismatch',
        `the image is for ${m.hardwareId}; 0x${hex(device)} is ${known.hardwareId}`,
        about,
      );
    if (m.size !== image.image.length)
      throw this.#refuse(
        device,
        'size_mismatch',
        image.image.length > m.size
          ? `${image.image.length} bytes offered, the manifest signs ${m.size}: nothing beyond it is sent`
          : `${image.image.length} bytes offered, the manifest signs ${m.size}`,
        { ...about, offered: image.image.length, size: m.size },
      );
    if (!sameBytes(m.sha256, sha256Digest(image.image)))
      throw this.#refuse(
        device,
        'hash_mismatch',
        'the image bytes are not the ones the manifest signs',
        about,
      );
    if (m.kind === 0 && known.securityCounter !== undefined && m.securityCounter < known.securityCounter)
      throw this.#refuse(
        device,
        'rollback',
        `security counter ${m.securityCounter} is below the running image's ${known.securityCounter} (no override)`,
        { ...about, securityCounter: m.securityCounter, running: known.securityCounter },
      );
    const running = m.kind === 1 ? known.bootloaderVersion : known.firmwareVersion;
    if (compareVersions(m.version, running) <= 0) {
      if (!options.allowDowngrade)
        throw this.#refuse(
          device,
          'downgrade_rejected',
          `0x${hex(device)} runs ${formatVersion(running)}; ${formatVersion(m.version)} is not newer (allow a downgrade explicitly)`,
          { ...about, running: formatVersion(running) },
        );
      this.#d.journal(
        'update.downgrade',
        'warning',
        `0x${hex(device)}: downgrade to ${formatVersion(m.version)} allowed by the operator`,
        {
          device,
          data: { from: formatVersion(running), to: formatVersion(m.version) },
        },
      );
    }
    const transfer = new UpdateTransfer(
      { ...image, manifest: m },
      {
        session: 1 + Math.floor(this.#d.random() * 0xfffe),
        mtu: known.mtu,
        ackBatch: known.ackBatch,
        ...(options.trialMs !== undefined ? { trialUs: options.trialMs * 1000 } : {}),
        ...(this.#stall
          ? { stallUs: this.#stall.stallMs * 1000, minProgressBytes: this.#stall.minProgressBytes }
          : {}),
        // 1 KiB on every bus: CAN controllers repeat bad frames, and byte-stream receivers repair the
        // single flipped bit that spoils nine in ten bad frames (spec §6), so that a 1 KiB chunk now
        // loses to 1e-5 bit errors about one time in a hundred and beats 512 bytes by its header.
        ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
      },
    );
    let resolve!: (v: UpdateView) => void;
    const done = new Promise<UpdateView>((r) => {
      resolve = r;
    });
    const r: Running = { device, transfer, image: { ...image, manifest: m }, wake: null, done, resolve };
    this.#running.set(device, r);
    this.#finished.delete(device);
    this.#d.journal(
      'update.start',
      'info',
      `0x${hex(device)}: updating ${m.kind === 1 ? 'bootloader' : 'application'} to ${formatVersion(m.version)} (${m.size} bytes)`,
      {
        device,
        data: { version: formatVersion(m.version), size: m.size, kind: m.kind },
      },
    );
    try {
      this.#step(r, { type: 'start' });
    } catch (e) {
      this.#running.delete(device);
      throw e;
    }
    return done;
  }

  cancel(device: number): boolean {
    const r = this.#running.get(device);
    if (!r) return false;
    this.#step(r, { type: 'cancel' });
    return true;
  }

  onAck(device: number, body: Extract<Message, { type: 'update_ack' }>['body']): void {
    const r = this.#running.get(device);
    if (r) this.#step(r, { type: 'ack', body });
  }

  onHello(device: number, body: Extract<Message, { type: 'hello' }>['body']): void {
    const r = this.#running.get(device);
    if (r) this.#step(r, { type: 'hello', body });
  }

  onHealth(device: number, state: string): void {
    const r = this.#running.get(device);
    if (r) this.#step(r, { type: 'health', state });
  }

  list(): UpdateView[] {
    const views = [...this.#running.values()].map((r) => this.#view(r.device, r.transfer, r.image));
    return [...views, ...[...this.#finished.values()].filter((v) => !this.#running.has(v.device))].sort(
      (a, b) => a.device - b.device,
    );
  }

  stop(): void {
    for (const r of this.#running.values()) r.wake?.cancel();
  }

  #step(r: Running, input: Parameters<UpdateTransfer['handle']>[0], atLeastUs = 0): void {
    const now = Math.max(this.#d.runtime.nowUs(), atLeastUs);
    const out = r.transfer.handle(input, now);
    for (const m of out.chunks) this.#d.sendEvent(r.device, m);
    for (const e of out.events) this.#journalEvent(r, e);
    for (const q of out.requests) {
      // RESET is answered before the device goes; the rest may take a flash write or a hash.
      const timeoutMs = q.kind === 'verify' ? 20_000 : q.kind === 'begin' ? 5_000 : 2_000;
      // RESET goes once: a repeat that reaches the new image would reset it during its trial.
      const attempts = q.kind === 'reset' ? 1 : undefined;
      void this.#d
        .request(r.device, q.message, timeoutMs, attempts)
        .then((a) =>
          this.#guarded(r, () =>
            this.#step(
              r,
              a.ok
                ? { type: 'answer', request: q.kind, message: a.message }
                : { type: 'no_answer', request: q.kind, reason: a.reason },
            ),
          ),
        );
    }
    r.wake?.cancel();
    r.wake = null;
    if (r.transfer.finished) {
      this.#running.delete(r.device);
      const view = this.#view(r.device, r.transfer, r.image);
      this.#finished.set(r.device, view);
      r.resolve(view);
      return;
    }
    if (out.wakeAt !== undefined) {
      const at = out.wakeAt;
      // Never tick before the time the transfer asked for: the clock read back after a timer can be a
      // hair earlier (µs/ns rounding), and a deadline "not yet reached" would be asked for again at
      // once, for ever (found by the soak, seed 4).
      r.wake = this.#d.runtime.at(at, () => this.#guarded(r, () => this.#step(r, { type: 'tick' }, at)));
    }
  }

  /**
   * Runs a step of a live update from a callback (an answer, a timer). Anything thrown there (the
   * journal's database failing) must not escape into the event loop: the update ends as failed.
   */
  #guarded(r: Running, fn: () => void): void {
    if (this.#running.get(r.device) !== r) return;
    try {
      fn();
    } catch (e) {
      r.wake?.cancel();
      this.#running.delete(r.device);
      const view = {
        ...this.#view(r.device, r.transfer, r.image),
        phase: 'failed' as const,
        detail: `internal error: ${(e as Error).message}`,
      };
      this.#finished.set(r.device, view);
      r.resolve(view);
    }
  }

  #journalEvent(r: Running, e: ReturnType<UpdateTransfer['handle']>['events'][number]): void {
    const who = `0x${hex(r.device)}`;
    if (e.kind === 'phase') {
      const severity: Severity = e.phase === 'failed' || e.phase === 'rolled_back' ? 'error' : 'info';
      const p = r.transfer.progress();
      this.#d.journal(`update.${e.phase}`, severity, `${who}: ${phaseText(e.phase)}: ${e.detail}`, {
        device: r.device,
        data: {
          phase: e.phase,
          acked: p.acked,
          size: p.size,
          detail: e.detail,
          ...(e.reason ? { reason: e.reason } : {}),
        },
      });
    } else if (e.kind === 'resumed') {
      this.#d.journal(
        'update.resumed',
        'info',
        `${who}: the device already holds ${e.fromBytes} bytes; resuming there`,
        {
          device: r.device,
          data: { fromBytes: e.fromBytes },
        },
      );
    } else if (e.kind === 'chunk_size') {
      this.#d.journal(
        'update.chunk_size',
        'info',
        e.to < e.from
          ? `${who}: half of the ${e.from}-byte chunks were sent again; ${e.to}-byte chunks from here`
          : `${who}: the path is clean again; ${e.to}-byte chunks from here`,
        { device: r.device, data: { from: e.from, to: e.to } },
      );
    }
    // Retransmissions are counted in the progress, not journaled one by one.
  }

  #view(device: number, t: UpdateTransfer, image: UpdateImage): UpdateView {
    const p = t.progress();
    const now = p.transferEndedUs ?? p.finishedUs ?? this.#d.runtime.nowUs();
    const elapsed = p.transferStartedUs === null ? 0 : (now - p.transferStartedUs) / 1e6;
    const moved = p.acked - p.resumedFrom;
    const rate = elapsed > 0 && moved > 0 ? moved / elapsed : null;
    return {
      ...p,
      device,
      version: formatVersion(image.manifest.version),
      kind: image.manifest.kind === 1 ? 'bootloader' : 'app',
      rateBps: rate === null ? null : Math.round(rate),
      etaS: rate === null || p.phase !== 'transfer' ? null : Math.round((p.size - p.acked) / rate),
    };
  }
}

function phaseText(p: UpdatePhase): string {
  return p.replace(/_/g, ' ');
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
