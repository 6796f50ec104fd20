import { codedError } from '../result.js';
import type { TxErrorCode } from './errors.js';
import { type Link, makeFrame, type Outbox } from './link.js';
import {
  consecutiveFrameCapacity,
  encodeConsecutiveFrame,
  encodeFirstFrame,
  encodeSingleFrame,
  type Pci,
  singleFrameCapacity,
} from './pci.js';

type FlowControl = Extract<Pci, { type: 'flow' }>;

/**
 * The sending side of one message on one CAN id:
 *   SF → done; or FF → wait_fc → (FC CTS) sending → [BS CFs] → wait_fc → … → done.
 * STmin 0 sends a whole block in one call; STmin > 0 sends one CF per call and asks to be woken
 * STmin later.
 */
export class Transmission {
  readonly handle: number;
  readonly to: number;
  state: 'idle' | 'wait_fc' | 'sending' | 'done' = 'idle';

  readonly #link: Link;
  readonly #id: number;
  readonly #payload: Uint8Array;
  #offset = 0;
  #sn = 1;
  #deadline = 0;
  #nextCfAt = 0;
  #blockLeft = 0;
  #stMinUs = 0;
  #waits = 0;

  constructor(link: Link, request: { handle: number; to: number; id: number; payload: Uint8Array }) {
    this.#link = link;
    this.handle = request.handle;
    this.to = request.to;
    this.#id = request.id;
    this.#payload = request.payload;
  }

  get awaitingFlowControl(): boolean {
    return this.state === 'wait_fc';
  }

  start(now: number, out: Outbox): void {
    const { frameSize, fd, nBsUs } = this.#link.config;
    if (this.#payload.length <= singleFrameCapacity(frameSize)) {
      out.send.push(makeFrame(this.#link, this.#id, encodeSingleFrame(this.#payload, frameSize), fd));
      this.#succeed(out);
      return;
    }
    const first = encodeFirstFrame(this.#payload, frameSize);
    out.send.push(makeFrame(this.#link, this.#id, first.bytes, fd));
    this.#offset = first.consumed;
    this.state = 'wait_fc';
    this.#deadline = now + nBsUs;
  }

  onFlowControl(fc: FlowControl, now: number, out: Outbox): void {
    if (this.state !== 'wait_fc') {
      // ISO 15765-2: a FC while sending CFs is ignored.
      this.#link.counters.add('unexpected_fc');
      return;
    }
    const { nBsUs, maxWaitFrames } = this.#link.config;
    switch (fc.status) {
      case 'cts':
        this.#waits = 0;
        this.#blockLeft = fc.blockSize;
        this.#stMinUs = fc.stMinUs;
        this.state = 'sending';
        this.#nextCfAt = now;
        this.#pump(now, out);
        return;
      case 'wait':
        this.#waits += 1;
        if (this.#waits > maxWaitFrames) {
          this.fail('wait_limit', `more than ${maxWaitFrames} FC(wait) in a row`, out);
          return;
        }
        this.#deadline = now + nBsUs;
        return;
      case 'overflow':
        this.fail('overflow', `receiver cannot take ${this.#payload.length} bytes`, out);
        return;
    }
  }

  /** Timers: N_Bs expiry, or STmin elapsed. */
  service(now: number, out: Outbox): void {
    if (this.state === 'wait_fc' && now >= this.#deadline) {
      this.fail('timeout_bs', `no flow control within ${this.#link.config.nBsUs} µs`, out);
    } else if (this.state === 'sending') {
      this.#pump(now, out);
    }
  }

  /** When this transfer next needs a tick, if ever. */
  wake(): number | undefined {
    if (this.state === 'wait_fc') return this.#deadline;
    if (this.state === 'sending') return this.#nextCfAt;
    return undefined;
  }

  fail(code: TxErrorCode, message: string, out: Outbox): void {
    this.state = 'done';
    this.#link.counters.add(code);
    out.emit.push({ type: 'failed', handle: this.handle, to: this.to, error: codedError(code, message) });
  }

  #succeed(out: Outbox): void {
    this.state = 'done';
    out.emit.push({ type: 'transmitted', handle: this.handle, to: this.to });
  }

  #pump(now: number, out: Outbox): void {
    const { frameSize, fd, nBsUs } = this.#link.config;
    const capacity = consecutiveFrameCapacity(frameSize);
    while (this.state === 'sending' && this.#nextCfAt <= now) {
      const chunk = this.#payload.subarray(this.#offset, this.#offset + capacity);
      out.send.push(makeFrame(this.#link, this.#id, encodeConsecutiveFrame(this.#sn, chunk), fd));
      this.#offset += chunk.length;
      this.#sn = (this.#sn + 1) & 0x0f;
      if (this.#offset >= this.#payload.length) {
        this.#succeed(out);
        return;
      }
      // Block size 0 means "no further FC": the block never ends.
      if (this.#blockLeft > 0 && --this.#blockLeft === 0) {
        this.state = 'wait_fc';
        this.#deadline = now + nBsUs;
        return;
      }
      this.#nextCfAt = now + this.#stMinUs;
    }
  }
}
