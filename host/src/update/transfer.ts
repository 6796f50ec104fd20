import {
  ErrorCode,
  enumName,
  type Manifest,
  type Message,
  SlotFlag,
  sackChunks,
  UpdateState,
} from '@mcubus/protocol';

/**
 * One device's firmware (or bootloader) update, host side, sans-IO (docs/updates.md): the daemon
 * feeds it answers, UPDATE_ACKs, the device's HELLOs and health, and the time; it says which requests
 * to send, which chunks to put on the wire, what happened and when to be woken.
 *
 * Phases: probe (UPDATE_STATUS_REQ: the device's chunk limit, window and flash speed) → begin
 * (UPDATE_BEGIN: the device checks the signed manifest and says how much of this image it already
 * holds: the resume point) → transfer (a window of chunks ahead of the device's cumulative ack;
 * selective acks name what arrived beyond a hole and only the holes are sent again) → verify →
 * activate → reset → the new image boots in test mode → trial (it must stay healthy) → confirm.
 * A device that comes back with the old image was rolled back by its bootloader.
 */
export interface UpdateImage {
  readonly image: Uint8Array;
  /** The signed manifest envelope (docs/protocol.md §12). */
  readonly envelope: Uint8Array;
  readonly manifest: Manifest;
}

export interface TransferConfig {
  /** Session id (u16, non-zero): chunks of other sessions are dropped by the device. */
  readonly session: number;
  /** Largest frame the device's route carries (Modbus: 251). */
  readonly mtu: number;
  /** Largest chunk to use (default 1024; the device's limit and the route's MTU apply too). */
  readonly chunkSize?: number;
  /** Upper bound on chunks in flight (default 16; the device's own window applies too). */
  readonly maxWindow?: number;
  /**
   * Chunks the route sends before the device can answer at all (FrameTransport.ackBatch: Modbus
   * broadcasts bulk frames and polls for the ack every so many). Default 1.
   */
  readonly ackBatch?: number;
  /** How long the new image must stay healthy before it is confirmed (default 5 s). */
  readonly trialUs?: number;
  /** How long to wait for the device to come back after RESET (default 30 s). */
  readonly bootTimeoutUs?: number;
  /** Consecutive transfer timeouts without progress before the session is reopened (default 4). */
  readonly reopenAfter?: number;
  /** …and before the update fails (it stays resumable) (default 20). */
  readonly giveUpAfter?: number;
  /**
   * Slow retrieval / freeze bound (docs/updates.md "Stalls"): until the image is verified, every
   * `stallUs` must see `minProgressBytes` acknowledged (or the rest of the image) or the next phase
   * reached; otherwise the update fails as `stalled` and stays resumable. A device that acknowledges a
   * chunk just before each timeout would keep the timeouts above from ever counting up; this cannot be
   * gamed that way. Defaults 120 s and 32 KiB (273 B/s: lower it for lines slower than 9600 baud).
   */
  readonly stallUs?: number;
  readonly minProgressBytes?: number;
}

export type UpdatePhase =
  | 'probe'
  | 'begin'
  | 'transfer'
  | 'verify'
  | 'activate'
  | 'reset'
  | 'boot_wait'
  | 'trial'
  | 'confirm'
  | 'done'
  | 'failed'
  | 'rolled_back'
  | 'cancelled';

export type RequestKind = 'status' | 'begin' | 'verify' | 'activate' | 'reset' | 'confirm' | 'abort';

export type TransferInput =
  | { readonly type: 'start' }
  | { readonly type: 'answer'; readonly request: RequestKind; readonly message: Message }
  /** A request got no answer (timeout) or could not be sent (no route). */
  | { readonly type: 'no_answer'; readonly request: RequestKind; readonly reason: string }
  | { readonly type: 'ack'; readonly body: Extract<Message, { type: 'update_ack' }>['body'] }
  /** The device booted (its HELLO). */
  | { readonly type: 'hello'; readonly body: Extract<Message, { type: 'hello' }>['body'] }
  /** The health monitor's view changed: down/unreachable/zombie during the trial fail it. */
  | { readonly type: 'health'; readonly state: string }
  | { readonly type: 'cancel' }
  | { readonly type: 'tick' };

/**
 * Why an update failed, for machines (the journal's `data.reason`): the device's own error code as
 * `device:<code>` when it refused, `stalled` for the progress bound, `timeout` when it stopped answering.
 */
export type FailureReason = 'stalled' | 'timeout' | 'boot' | 'trial' | 'protocol' | `device:${string}`;

export type TransferEvent =
  | {
      readonly kind: 'phase';
      readonly phase: UpdatePhase;
      readonly detail: string;
      readonly reason?: FailureReason;
    }
  | { readonly kind: 'resumed'; readonly fromBytes: number }
  | { readonly kind: 'retransmit'; readonly chunks: number; readonly why: 'gap' | 'timeout' }
  | { readonly kind: 'chunk_size'; readonly from: number; readonly to: number };

export interface TransferOutput {
  /** Requests to send (each answered, or a no_answer input follows). */
  readonly requests: readonly { readonly kind: RequestKind; readonly message: Message }[];
  /** UPDATE_CHUNK events to put on the wire, in order. */
  readonly chunks: readonly Message[];
  readonly events: readonly TransferEvent[];
  readonly wakeAt?: number;
}

export interface TransferProgress {
  readonly phase: UpdatePhase;
  readonly size: number;
  /** Bytes the device has acknowledged (cumulative). */
  readonly acked: number;
  /** Bytes that were already on the device when the transfer (re)started. */
  readonly resumedFrom: number;
  readonly chunkSize: number;
  readonly window: number;
  readonly sentBytes: number;
  readonly retransmittedBytes: number;
  readonly startedUs: number | null;
  readonly transferStartedUs: number | null;
  /** When the last byte was acknowledged. */
  readonly transferEndedUs: number | null;
  readonly finishedUs: number | null;
  readonly detail: string;
  /** Why it failed, once it has (the journal's `data.reason`). */
  readonly reason?: FailureReason;
}

/** UPDATE_CHUNK framing: 8-byte header, CRC, CBOR map with session, offset and the byte string head. */
const CHUNK_OVERHEAD = 8 + 4 + 1 + 4 + 6 + 4;
/** Chunk sizes are multiples of this (every flash write unit we know of divides it). */
const CHUNK_ALIGN = 16;
const DEFAULT_CHUNK = 1024;
/** The smallest chunk #adaptChunk goes down to: 19 classic CAN frames. */
const MIN_ADAPTED_CHUNK = 128;
const RESET_IF_SILENT_US = 3_000_000;
/** What a busy host (event loop, scheduler, USB) can add to a round trip: the window covers it too. */
const HOST_JITTER_US = 20_000;

/** In their order: the progress bound's "next phase". */
const WATCHED_PHASES: readonly UpdatePhase[] = ['probe', 'begin', 'transfer', 'verify'];

export class UpdateTransfer {
  readonly #c: Required<TransferConfig>;
  readonly #img: UpdateImage;
  #phase: UpdatePhase = 'probe';
  #detail = '';
  #reason: FailureReason | undefined;
  #chunkSize = DEFAULT_CHUNK;
  /** The largest chunk the route and the device take (#learnLimits); #adaptChunk stays at or below it. */
  #chunkLimit = DEFAULT_CHUNK;
  /** Session id: the configured one, a new one each time the chunk size changes. */
  #session: number;
  /** Chunk sends and how many were retransmissions since the chunk size was last set, and the run of
   * first sends since the last retransmission (#adaptChunk). */
  #adaptSends = 0;
  #adaptRetx = 0;
  #cleanRun = 0;
  /** Bytes of the image sent at least once (a high-water mark, whatever the chunk size). */
  #sentUpTo = 0;
  /** Chunks in flight: what the device can buffer, and no more than the path needs (#sizeWindow). */
  #window = 8;
  #deviceWindow = 8;
  /** Device flash time per chunk (UPDATE_STATUS flashWriteUs). */
  #flashUs = 0;
  /** Smallest chunk-to-ack time seen, and the acknowledged byte rate (bytes/µs, smoothed). */
  #minRttUs: number | null = null;
  #rate: number | null = null;
  #lastAdvanceUs: number | null = null;
  #acked = 0;
  #resumedFrom = 0;
  /** Chunk index → host time it was last sent; absent = never sent or acknowledged. */
  readonly #sentAt = new Map<number, number>();
  /** Chunk index → order of its last transmission (a counter: many chunks leave in the same µs). */
  readonly #sentOrder = new Map<number, number>();
  #order = 0;
  readonly #retransmitted = new Set<number>();
  readonly #sacked = new Set<number>();
  /** Next never-sent chunk index. */
  #next = 0;
  #srttUs: number | null = null;
  #lastProgressUs = 0;
  #timeouts = 0;
  #sentBytes = 0;
  #retxBytes = 0;
  #startedUs: number | null = null;
  #transferStartedUs: number | null = null;
  #finishedUs: number | null = null;
  #transferEndedUs: number | null = null;
  #deadline: number | null = null;
  /** Progress watchdog (config stallUs): the window started at this time, phase and acked count. */
  #watchFromUs = 0;
  #watchPhase: UpdatePhase = 'probe';
  #watchAcked = 0;
  #requestInFlight: RequestKind | null = null;
  #busyRetries = 0;
  /**
   * The slot the test image booted from (its HELLO): CONFIRM names it, so that a CONFIRM (or its
   * retransmission) reaching a device whose bootloader has meanwhile reverted is refused instead of
   * answered "already confirmed" for the old image (found by the soak, seed 2).
   */
  #trialSlot: number | null = null;

  constructor(image: UpdateImage, config: TransferConfig) {
    this.#img = image;
    this.#c = {
      maxWindow: 16,
      ackBatch: 1,
      chunkSize: DEFAULT_CHUNK,
      trialUs: 5_000_000,
      bootTimeoutUs: 30_000_000,
      reopenAfter: 4,
      giveUpAfter: 20,
      stallUs: 120_000_000,
      minProgressBytes: 32768,
      ...config,
    };
    // Within the route's MTU and the configured size even before the device tells its own limit.
    this.#chunkSize = this.#fitChunk(DEFAULT_CHUNK);
    this.#chunkLimit = this.#chunkSize;
    this.#session = config.session;
  }

  #fitChunk(deviceMax: number): number {
    const fit = Math.floor((this.#c.mtu - CHUNK_OVERHEAD) / CHUNK_ALIGN) * CHUNK_ALIGN;
    const limit = Math.min(deviceMax, fit, this.#c.chunkSize, 4096);
    return Math.max(CHUNK_ALIGN, Math.floor(limit / CHUNK_ALIGN) * CHUNK_ALIGN);
  }

  get phase(): UpdatePhase {
    return this.#phase;
  }

  get finished(): boolean {
    return ['done', 'failed', 'rolled_back', 'cancelled'].includes(this.#phase);
  }

  progress(): TransferProgress {
    return {
      phase: this.#phase,
      size: this.#img.manifest.size,
      acked: this.#acked,
      resumedFrom: this.#resumedFrom,
      chunkSize: this.#chunkSize,
      window: this.#window,
      sentBytes: this.#sentBytes,
      retransmittedBytes: this.#retxBytes,
      startedUs: this.#startedUs,
      transferStartedUs: this.#transferStartedUs,
      transferEndedUs: this.#transferEndedUs,
      finishedUs: this.#finishedUs,
      detail: this.#detail,
      ...(this.#reason ? { reason: this.#reason } : {}),
    };
  }

  handle(input: TransferInput, nowUs: number): TransferOutput {
    const out: Out = { requests: [], chunks: [], events: [] };
    if (this.finished && input.type !== 'tick') return this.#output(out, nowUs);
    switch (input.type) {
      case 'start':
        this.#startedUs = nowUs;
        this.#watchFromUs = nowUs;
        this.#probe(out);
        break;
      case 'answer':
        // An answer to a request we have moved past (ACTIVATE's retransmission answered by the
        // rebooted device with bad_session, after its new image's HELLO) changes nothing.
        if (this.#requestInFlight !== input.request) break;
        this.#requestInFlight = null;
        this.#onAnswer(out, input.request, input.message, nowUs);
        break;
      case 'no_answer':
        if (this.#requestInFlight !== input.request) break; // a request we have moved past
        this.#requestInFlight = null;
        this.#onNoAnswer(out, input.request, input.reason, nowUs);
        break;
      case 'ack':
        this.#onAck(out, input.body, nowUs);
        break;
      case 'hello':
        this.#onHello(out, input.body, nowUs);
        break;
      case 'health':
        if (this.#phase === 'trial' && ['down', 'unreachable', 'zombie'].includes(input.state)) {
          // It may still be the bootloader reverting; the HELLO that follows says which image runs.
          this.#detail = `the new image went ${input.state} during its trial`;
        }
        break;
      case 'cancel':
        if (this.#phase === 'transfer' || this.#phase === 'begin' || this.#phase === 'probe') {
          this.#request(out, 'abort', { type: 'update_abort', body: { session: this.#session } });
        }
        this.#finish(out, 'cancelled', 'cancelled by the operator', nowUs);
        break;
      case 'tick':
        this.#onTick(out, nowUs);
        break;
    }
    this.#watch(out, nowUs);
    return this.#output(out, nowUs);
  }

  /** Phases the progress bound covers: after VERIFY the phases have deadlines of their own. */
  #watched(): boolean {
    return WATCHED_PHASES.includes(this.#phase);
  }

  /** The slow retrieval / freeze bound (config stallUs, minProgressBytes). */
  #watch(out: Out, nowUs: number): void {
    if (this.finished || !this.#watched()) return;
    const need = Math.min(this.#c.minProgressBytes, this.#img.manifest.size - this.#watchAcked);
    // Only a phase further on counts: reopening the session (transfer → begin → transfer) is no progress.
    const further = WATCHED_PHASES.indexOf(this.#phase) > WATCHED_PHASES.indexOf(this.#watchPhase);
    if (further || this.#acked - this.#watchAcked >= Math.max(1, need)) {
      this.#watchFromUs = nowUs;
      this.#watchPhase = this.#phase;
      this.#watchAcked = this.#acked;
      return;
    }
    if (nowUs < this.#watchFromUs + this.#c.stallUs) return;
    const moved = this.#acked - this.#watchAcked;
    this.#finish(
      out,
      'failed',
      `stalled (slow retrieval or freeze): ${moved} bytes acknowledged and still in ${this.#phase} after ${
        this.#c.stallUs / 1e6
      } s, the bound is ${need} bytes or the next phase; resumable`,
      nowUs,
      'stalled',
    );
  }

  // ── answers ──────────────────────────────────────────────────────────────────────────────────

  #onAnswer(out: Out, request: RequestKind, m: Message, nowUs: number): void {
    if (m.type === 'error') {
      const code = enumName(ErrorCode, m.body.code);
      if (request === 'confirm' && code === 'bad_state') {
        // The device no longer runs the test image in the slot we confirm: its bootloader reverted
        // (a reset or power cut during the trial whose HELLO was lost).
        this.#finish(
          out,
          'rolled_back',
          `the device no longer runs ${this.#img.manifest.version.join('.')} from slot ${this.#trialSlot ?? '?'}: its bootloader reverted`,
          nowUs,
        );
        return;
      }
      if (code === 'busy' && this.#busyRetries++ < 50) {
        // The device is still checking something: ask again shortly.
        this.#deadline = nowUs + 200_000;
        this.#retryRequest = request;
        return;
      }
      if (request === 'begin' && code === 'bad_request' && m.body.detail && m.body.detail > 0) {
        // The chunk size must be a multiple of the device's flash write unit (`detail`).
        const unit = m.body.detail;
        const size = Math.floor(this.#chunkSize / unit) * unit;
        if (size > 0 && size !== this.#chunkSize) {
          this.#chunkSize = size;
          this.#begin(out);
          return;
        }
      }
      if (request === 'abort') return;
      this.#finish(
        out,
        'failed',
        `${request} refused: ${code}${m.body.message ? ` (${m.body.message})` : ''}`,
        nowUs,
        `device:${code}`,
      );
      return;
    }
    switch (request) {
      case 'status':
        if (m.type !== 'update_status') break;
        this.#learnLimits(m.body);
        this.#begin(out);
        return;
      case 'begin':
        if (m.type !== 'update_status') break;
        this.#onBeginStatus(out, m.body, nowUs);
        return;
      case 'verify':
        if (m.type !== 'update_status') break;
        if (m.body.state === UpdateState.verified) {
          this.#setPhase(out, 'activate', 'image verified (hash and signature); activating');
          this.#request(out, 'activate', { type: 'update_activate', body: { session: this.#session } });
        } else if (m.body.state === UpdateState.failed) {
          const code = enumName(ErrorCode, m.body.error ?? ErrorCode.internal);
          this.#finish(
            out,
            'failed',
            `the device refused the stored image: ${code}`,
            nowUs,
            `device:${code}`,
          );
        } else if (this.#busyRetries++ < 100) {
          // Still checking (a long image): ask again shortly, for at most 20 s.
          this.#deadline = nowUs + 200_000;
          this.#retryRequest = 'verify';
        } else {
          this.#finish(out, 'failed', 'the device did not finish checking the image', nowUs, 'timeout');
        }
        return;
      case 'activate':
        if (this.#phase !== 'activate') return; // the new image's HELLO came first
        // Devices reset into the new image by themselves once the OK has left; a RESET sent now could
        // reach the test image itself and look like its crash. Only a device that stays silent gets one.
        this.#setPhase(out, 'boot_wait', 'activated; waiting for the device to boot the new image');
        this.#deadline = nowUs + RESET_IF_SILENT_US;
        this.#resetIfSilent = true;
        return;
      case 'reset':
        this.#setPhase(out, 'boot_wait', 'waiting for the device to boot');
        this.#deadline = nowUs + this.#c.bootTimeoutUs;
        return;
      case 'confirm':
        this.#finish(out, 'done', `running ${this.#img.manifest.version.join('.')}, confirmed`, nowUs);
        return;
      case 'abort':
        return;
    }
    this.#finish(out, 'failed', `unexpected answer ${m.type} to ${request}`, nowUs, 'protocol');
  }

  #retryRequest: RequestKind | null = null;
  /** After ACTIVATE: send RESET only if no HELLO comes within RESET_IF_SILENT_US. */
  #resetIfSilent = false;

  #onNoAnswer(out: Out, request: RequestKind, reason: string, nowUs: number): void {
    switch (request) {
      case 'reset':
        // The device may have reset before its OK left: its HELLO will tell.
        this.#setPhase(out, 'boot_wait', `no answer to RESET (${reason}); waiting for the device to boot`);
        this.#deadline = nowUs + this.#c.bootTimeoutUs;
        return;
      case 'confirm':
      case 'abort':
        if (this.#phase === 'confirm' && this.#timeouts++ < 5) this.#confirm(out);
        else if (this.#phase === 'confirm')
          this.#finish(out, 'failed', `no answer to CONFIRM (${reason})`, nowUs, 'timeout');
        return;
      default:
        // The link lost it or the device is away (reset, power cut): ask again a little later; the
        // device's resume point makes a repeated BEGIN cheap.
        if (++this.#timeouts > this.#c.giveUpAfter) {
          this.#finish(
            out,
            'failed',
            `${request}: ${reason} (${this.#timeouts} times); resumable`,
            nowUs,
            'timeout',
          );
          return;
        }
        this.#deadline = nowUs + 500_000;
        this.#retryRequest = request;
    }
  }

  #probe(out: Out): void {
    this.#setPhase(out, 'probe', 'asking the device for its limits and what it holds');
    this.#request(out, 'status', { type: 'update_status_req', body: { sha256: this.#img.manifest.sha256 } });
  }

  #learnLimits(b: Extract<Message, { type: 'update_status' }>['body']): void {
    this.#chunkSize = this.#fitChunk(b.maxChunk ?? DEFAULT_CHUNK);
    this.#chunkLimit = this.#chunkSize;
    this.#deviceWindow = Math.max(1, Math.min(b.window ?? 8, this.#c.maxWindow));
    this.#window = this.#deviceWindow;
    this.#flashUs = b.flashWriteUs ?? 0;
  }

  #begin(out: Out): void {
    const m = this.#img.manifest;
    this.#setPhase(out, 'begin', `opening session ${this.#session} (${this.#chunkSize}-byte chunks)`);
    this.#request(out, 'begin', {
      type: 'update_begin',
      body: {
        session: this.#session,
        kind: m.kind,
        size: m.size,
        sha256: m.sha256,
        chunkSize: this.#chunkSize,
        manifest: this.#img.envelope,
      },
    });
  }

  #onBeginStatus(out: Out, b: Extract<Message, { type: 'update_status' }>['body'], nowUs: number): void {
    if (b.state === UpdateState.failed) {
      const code = enumName(ErrorCode, b.error ?? 0);
      this.#finish(out, 'failed', `the device failed the session: ${code}`, nowUs, `device:${code}`);
      return;
    }
    const received = Math.min(b.received ?? 0, this.#img.manifest.size);
    if (this.#transferStartedUs === null) {
      this.#resumedFrom = received;
      this.#transferStartedUs = nowUs;
      if (received > 0) out.events.push({ kind: 'resumed', fromBytes: received });
    }
    // The device's word is final: after a reset it holds only what it had persisted, which can be
    // less than it had acknowledged.
    this.#acked = received;
    this.#sentAt.clear();
    this.#sentOrder.clear();
    this.#sacked.clear();
    this.#retransmitted.clear();
    this.#lastAdvanceUs = null;
    this.#next = Math.floor(this.#acked / this.#chunkSize);
    // Only acknowledged progress resets the timeout count: a device that answers BEGIN but never
    // stores a chunk must not keep the update going for ever.
    this.#lastProgressUs = nowUs;
    if (this.#acked >= this.#img.manifest.size) {
      this.#verify(out, nowUs);
      return;
    }
    this.#setPhase(out, 'transfer', received > 0 ? `resuming at byte ${received}` : 'sending');
    this.#fill(out, nowUs);
  }

  // ── transfer ─────────────────────────────────────────────────────────────────────────────────

  #chunkCount(): number {
    return Math.ceil(this.#img.manifest.size / this.#chunkSize);
  }

  #chunkMessage(index: number): Message {
    const offset = index * this.#chunkSize;
    return {
      type: 'update_chunk',
      body: {
        session: this.#session,
        offset,
        data: this.#img.image.subarray(offset, Math.min(offset + this.#chunkSize, this.#img.manifest.size)),
      },
    };
  }

  #send(out: Out, index: number, nowUs: number, retransmit: boolean): void {
    const m = this.#chunkMessage(index);
    out.chunks.push(m);
    const bytes = (m.body as { data: Uint8Array }).data.length;
    this.#sentBytes += bytes;
    if (retransmit) {
      this.#retxBytes += bytes;
      // Karn: an ack of a chunk sent twice says nothing about the round trip.
      this.#retransmitted.add(index);
    }
    this.#sentAt.set(index, nowUs);
    this.#sentOrder.set(index, ++this.#order);
    // Loss is what the chunk-size rule weighs: retransmissions against first sends. A chunk sent
    // again after the session was reopened (the device resumes below what was sent) is neither.
    const offset = index * this.#chunkSize;
    const first = !retransmit && offset >= this.#sentUpTo;
    this.#sentUpTo = Math.max(this.#sentUpTo, offset + bytes);
    if (retransmit) {
      this.#adaptSends++;
      this.#adaptRetx++;
      this.#cleanRun = 0;
    } else if (first) {
      this.#adaptSends++;
      this.#cleanRun++;
    }
  }

  /**
   * Chunks that are mostly lost get smaller, and grow back once the path is clean: a 1 KiB chunk is
   * 147 classic CAN frames through ISO-TP, so 1 % of frames dropped loses three chunks in four and the
   * transfer crawls at a few hundred bytes a second (the soak: 14 KiB in 2 minutes behind a gateway).
   * Half of ≥ 12 sends being retransmissions halves the chunk (down to 128 bytes); 64 first
   * sends in a row without one double it (up to the limit). Either way the session is reopened under a
   * new id — the device resumes at its last persisted point, and chunks of the old size still on the
   * way are dropped as another session's.
   */
  #adaptChunk(out: Out): boolean {
    if (this.#phase !== 'transfer' || this.#requestInFlight !== null) return false;
    let size: number;
    if (
      this.#adaptSends >= 12 &&
      this.#adaptRetx * 2 >= this.#adaptSends &&
      this.#chunkSize > MIN_ADAPTED_CHUNK
    )
      size = Math.max(MIN_ADAPTED_CHUNK, Math.floor(this.#chunkSize / 2 / CHUNK_ALIGN) * CHUNK_ALIGN);
    else if (this.#cleanRun >= 64 && this.#chunkSize < this.#chunkLimit)
      size = Math.min(this.#chunkLimit, this.#chunkSize * 2);
    else return false;
    out.events.push({ kind: 'chunk_size', from: this.#chunkSize, to: size });
    this.#chunkSize = size;
    this.#adaptSends = 0;
    this.#adaptRetx = 0;
    this.#cleanRun = 0;
    // The new size gets a fair chance: the timeouts of the old one do not count against it.
    this.#timeouts = 0;
    this.#session = (this.#session % 0xfffe) + 1;
    this.#begin(out);
    return true;
  }

  /**
   * The window the path needs: enough chunks to cover a round trip, the device's flash time and the
   * host's own scheduling jitter at the rate acks come back (the bandwidth-delay product), plus two — more would only
   * queue in the transport, in front of heartbeats and time sync. Never more than the device buffers.
   */
  #sizeWindow(): void {
    if (this.#rate === null || this.#minRttUs === null) {
      this.#window = this.#deviceWindow;
      return;
    }
    const cover = this.#minRttUs + this.#flashUs + HOST_JITTER_US;
    // A route that batches chunks before an ack can come back (Modbus) needs two batches in flight:
    // one being acknowledged while the next goes out.
    const needed = Math.max(Math.ceil((this.#rate * cover) / this.#chunkSize), 2 * this.#c.ackBatch) + 2;
    this.#window = Math.min(this.#deviceWindow, needed);
  }

  /** Sends never-sent chunks while fewer than `window` are outstanding beyond the cumulative ack. */
  #fill(out: Out, nowUs: number): void {
    const base = Math.floor(this.#acked / this.#chunkSize);
    const limit = Math.min(base + this.#window, this.#chunkCount());
    while (this.#next < limit) {
      if (!this.#sacked.has(this.#next)) this.#send(out, this.#next, nowUs, false);
      this.#next++;
    }
  }

  #onAck(out: Out, b: Extract<Message, { type: 'update_ack' }>['body'], nowUs: number): void {
    if (b.session !== this.#session || this.#phase !== 'transfer') return;
    const base = Math.floor(b.cumulative / this.#chunkSize);
    if (b.cumulative > this.#acked) {
      // RTT from the newest chunk this ack covers that was sent once (Karn: not a retransmission).
      const sent = this.#retransmitted.has(base - 1) ? undefined : this.#sentAt.get(base - 1);
      if (sent !== undefined) {
        const sample = nowUs - sent;
        this.#srttUs = this.#srttUs === null ? sample : 0.875 * this.#srttUs + 0.125 * sample;
        this.#minRttUs = this.#minRttUs === null ? sample : Math.min(this.#minRttUs, sample);
      }
      if (this.#lastAdvanceUs !== null && nowUs > this.#lastAdvanceUs) {
        const r = (b.cumulative - this.#acked) / (nowUs - this.#lastAdvanceUs);
        this.#rate = this.#rate === null ? r : 0.875 * this.#rate + 0.125 * r;
      }
      this.#lastAdvanceUs = nowUs;
      for (let i = Math.floor(this.#acked / this.#chunkSize); i < base; i++) {
        this.#sentAt.delete(i);
        this.#sentOrder.delete(i);
        this.#sacked.delete(i);
        this.#retransmitted.delete(i);
      }
      this.#acked = Math.min(b.cumulative, this.#img.manifest.size);
      this.#lastProgressUs = nowUs;
      this.#timeouts = 0;
    }
    // 0 = "nothing more right now": sending pauses until an ack opens the window again.
    if (b.window !== undefined) this.#deviceWindow = Math.min(b.window, this.#c.maxWindow);
    this.#sizeWindow();
    const sacked = sackChunks(base, b.sack);
    for (const i of sacked) this.#sacked.add(i);
    if (this.#acked >= this.#img.manifest.size) {
      this.#verify(out, nowUs);
      return;
    }
    if (this.#adaptChunk(out)) return;
    // A hole is lost when a chunk sent after its last transmission has arrived (the path keeps
    // order): only then is it sent again — not while it may still be queued or on the wire.
    let newestArrived = 0;
    for (const j of this.#sacked) newestArrived = Math.max(newestArrived, this.#sentOrder.get(j) ?? 0);
    let again = 0;
    for (let i = base; i < this.#next; i++) {
      if (this.#sacked.has(i)) continue;
      const order = this.#sentOrder.get(i);
      if (order === undefined || order >= newestArrived) continue;
      this.#send(out, i, nowUs, true);
      again++;
    }
    if (again > 0) out.events.push({ kind: 'retransmit', chunks: again, why: 'gap' });
    this.#fill(out, nowUs);
  }

  /** No progress for a while: send the oldest unacknowledged chunks again; reopen after a few. */
  #onTransferTimeout(out: Out, nowUs: number): void {
    if (this.#adaptChunk(out)) return;
    this.#timeouts++;
    if (this.#timeouts > this.#c.giveUpAfter) {
      this.#finish(
        out,
        'failed',
        `no progress after ${this.#timeouts} timeouts; resumable`,
        nowUs,
        'timeout',
      );
      return;
    }
    if (this.#timeouts % this.#c.reopenAfter === 0) {
      // Maybe the device reset and lost its session: BEGIN again, it says where to resume.
      this.#lastProgressUs = nowUs;
      this.#begin(out);
      return;
    }
    // The oldest unacknowledged chunk goes again (its ack, or a sack, tells what else is missing).
    const base = Math.floor(this.#acked / this.#chunkSize);
    for (let i = base; i < this.#next; i++) {
      if (this.#sacked.has(i)) continue;
      this.#send(out, i, nowUs, true);
      out.events.push({ kind: 'retransmit', chunks: 1, why: 'timeout' });
      break;
    }
    this.#lastProgressUs = nowUs;
  }

  /** How long without progress is a loss: a few round trips plus a window's worth of chunks. */
  #rtoUs(): number {
    const rtt = this.#srttUs ?? 200_000;
    return Math.max(300_000, 3 * rtt);
  }

  #verify(out: Out, nowUs?: number): void {
    if (nowUs !== undefined) this.#transferEndedUs ??= nowUs;
    this.#setPhase(out, 'verify', 'all bytes stored; the device checks hash and signature');
    this.#request(out, 'verify', { type: 'update_verify', body: { session: this.#session } });
  }

  #confirm(out: Out): void {
    this.#setPhase(out, 'confirm', 'the new image stayed healthy; confirming');
    const body = this.#trialSlot !== null ? { slot: this.#trialSlot } : {};
    this.#request(out, 'confirm', { type: 'update_confirm', body });
  }

  // ── boot and trial ───────────────────────────────────────────────────────────────────────────

  #onHello(out: Out, hello: Extract<Message, { type: 'hello' }>['body'], nowUs: number): void {
    const m = this.#img.manifest;
    const want = m.version.join('.');
    // ACTIVATE's OK and the new image's HELLO can be handled in either order.
    // A HELLO while CONFIRM is under way is a reset during the trial (the version says which image).
    const booting = ['activate', 'boot_wait', 'reset', 'trial', 'confirm'];
    if (booting.includes(this.#phase)) {
      // The device booted: whatever ACTIVATE or RESET still waits for an answer is settled.
      if (this.#requestInFlight === 'activate' || this.#requestInFlight === 'reset')
        this.#requestInFlight = null;
      const running = (m.kind === 1 ? hello.bootloaderVersion : hello.firmwareVersion).join('.');
      if (running !== want) {
        this.#finish(
          out,
          'rolled_back',
          `the device runs ${running}, not ${want}${this.#detail ? ` (${this.#detail})` : ''}: its bootloader reverted`,
          nowUs,
        );
        return;
      }
      if (m.kind === 1) {
        this.#finish(out, 'done', `bootloader ${want} running`, nowUs);
        return;
      }
      const active = (hello.slots ?? []).find((s) => s.index < 2 && (s.flags & SlotFlag.active) !== 0);
      if (active) this.#trialSlot = active.index;
      if (this.#phase === 'trial' || this.#phase === 'confirm') {
        // A second boot of the test image during its trial: it crashed; the bootloader decides next.
        if (this.#requestInFlight === 'confirm') this.#requestInFlight = null;
        this.#phase = 'trial';
        this.#detail = 'the new image reset during its trial';
        this.#deadline = nowUs + this.#c.trialUs;
        return;
      }
      this.#setPhase(
        out,
        'trial',
        `running ${want} in test mode; watching it for ${this.#c.trialUs / 1e6} s`,
      );
      this.#deadline = nowUs + this.#c.trialUs;
      return;
    }
    if (this.#phase === 'transfer' || this.#phase === 'begin' || this.#phase === 'verify') {
      // The device rebooted mid-transfer (or while checking): its RAM session is gone, the resume
      // point is not; BEGIN again (a complete image goes straight to VERIFY).
      if (this.#requestInFlight === 'verify' || this.#requestInFlight === 'begin')
        this.#requestInFlight = null;
      this.#begin(out);
    }
  }

  #onTick(out: Out, nowUs: number): void {
    if (this.#deadline !== null && nowUs >= this.#deadline) {
      this.#deadline = null;
      if (this.#retryRequest) {
        const r = this.#retryRequest;
        this.#retryRequest = null;
        if (r === 'status') this.#probe(out);
        else if (r === 'begin') this.#begin(out);
        else if (r === 'verify') this.#verify(out);
        else if (r === 'activate')
          this.#request(out, 'activate', { type: 'update_activate', body: { session: this.#session } });
        else if (r === 'confirm') this.#confirm(out);
        else if (r === 'reset') this.#request(out, 'reset', { type: 'reset', body: {} });
        return;
      }
      if (this.#phase === 'boot_wait' && this.#resetIfSilent) {
        this.#resetIfSilent = false;
        this.#setPhase(out, 'reset', 'no boot yet; asking the device to reset');
        this.#request(out, 'reset', { type: 'reset', body: {} });
        return;
      }
      if (this.#phase === 'boot_wait') {
        this.#finish(out, 'failed', 'the device did not come back after activation', nowUs, 'boot');
        return;
      }
      if (this.#phase === 'trial') {
        if (this.#detail) {
          this.#finish(out, 'failed', `${this.#detail}; not confirmed`, nowUs, 'trial');
          return;
        }
        this.#confirm(out);
        return;
      }
    }
    // The same sum the wake-up time was computed from (#output): `now − last ≥ rto` can be false by
    // a rounding error at the very instant `last + rto` was asked for, and the tick then repeats for
    // ever (found by the soak, seed 4).
    if (
      this.#phase === 'transfer' &&
      this.#requestInFlight === null &&
      nowUs >= this.#lastProgressUs + this.#rtoUs()
    )
      this.#onTransferTimeout(out, nowUs);
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────────────────────

  #request(out: Out, kind: RequestKind, message: Message): void {
    this.#requestInFlight = kind;
    out.requests.push({ kind, message });
  }

  #setPhase(out: Out, phase: UpdatePhase, detail: string): void {
    if (this.#phase === phase && this.#detail === detail) return;
    // Each phase counts its own timeouts and busy answers (the transfer keeps its timeouts across
    // reopenings: only acknowledged progress resets them).
    if (this.#phase !== phase && phase !== 'begin' && phase !== 'transfer') this.#timeouts = 0;
    if (this.#phase !== phase) this.#busyRetries = 0;
    this.#phase = phase;
    out.events.push({ kind: 'phase', phase, detail });
  }

  #finish(out: Out, phase: UpdatePhase, detail: string, nowUs: number, reason?: FailureReason): void {
    this.#phase = phase;
    this.#detail = detail;
    this.#reason = reason;
    this.#finishedUs = nowUs;
    this.#deadline = null;
    this.#retryRequest = null;
    out.events.push({ kind: 'phase', phase, detail, ...(reason ? { reason } : {}) });
  }

  #output(out: Out, nowUs: number): TransferOutput {
    let wakeAt: number | undefined;
    if (!this.finished) {
      if (this.#deadline !== null) wakeAt = this.#deadline;
      if (this.#watched()) {
        const t = this.#watchFromUs + this.#c.stallUs;
        wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t);
      }
      if (this.#phase === 'transfer' && this.#requestInFlight === null) {
        const t = this.#lastProgressUs + this.#rtoUs();
        wakeAt = wakeAt === undefined ? t : Math.min(wakeAt, t);
      }
    }
    return { ...out, ...(wakeAt !== undefined ? { wakeAt: Math.max(wakeAt, nowUs) } : {}) };
  }
}

interface Out {
  requests: { kind: RequestKind; message: Message }[];
  chunks: Message[];
  events: TransferEvent[];
}
