import { codedError } from '../result.js';
import { composeCanId, framePriorityFor } from './can-id.js';
import type { RxErrorCode } from './errors.js';
import { type Link, makeFrame, type Outbox } from './link.js';
import { encodeFlowControl, type FlowStatus, type Pci } from './pci.js';

type FirstFrame = Extract<Pci, { type: 'first' }>;
type ConsecutiveFrame = Extract<Pci, { type: 'consecutive' }>;

/** Sends a FC from us to `to` on the CAN priority the peer used, in the frame format (FD or not) it used. */
export function sendFlowControl(
  link: Link,
  out: Outbox,
  reply: { to: number; canPriority: number; fd: boolean },
  status: FlowStatus,
): void {
  const { address, blockSize, stMinRaw } = link.config;
  const id = composeCanId({
    canPriority: reply.canPriority,
    functional: false,
    target: reply.to,
    source: address,
  });
  // FC(overflow) carries no parameters the sender could use; send zeros as most stacks do.
  const bytes =
    status === 'cts' ? encodeFlowControl('cts', blockSize, stMinRaw) : encodeFlowControl(status, 0, 0);
  out.send.push(makeFrame(link, id, bytes, reply.fd));
}

/**
 * The receiving side of one segmented message on one CAN id. Created on a valid FF (whose length the
 * node already checked against maxMessageSize); answers FC(CTS) at once and after each block.
 */
export class Reception {
  readonly from: number;
  readonly canPriority: number;
  readonly #link: Link;
  readonly #fd: boolean;
  /** RX_DL: the FF's data length; every CF but the last has exactly this length. */
  readonly #rxDl: number;
  readonly #buffer: Uint8Array;
  #offset: number;
  #nextSn = 1;
  #blockCount = 0;
  #deadline: number;

  constructor(
    link: Link,
    start: { from: number; canPriority: number; fd: boolean; frameLength: number; first: FirstFrame },
    now: number,
    out: Outbox,
  ) {
    this.#link = link;
    this.from = start.from;
    this.canPriority = start.canPriority;
    this.#fd = start.fd;
    this.#rxDl = start.frameLength;
    this.#buffer = new Uint8Array(start.first.length);
    // A FF always carries fewer bytes than it announces (decodePci checks FF_DL against the frame).
    this.#buffer.set(start.first.data);
    this.#offset = start.first.data.length;
    this.#deadline = now + link.config.nCrUs;
    this.#sendCts(out);
  }

  get deadline(): number {
    return this.#deadline;
  }

  /** Returns true when the reception is over (completed or aborted). */
  onConsecutive(cf: ConsecutiveFrame, frameLength: number, now: number, out: Outbox): boolean {
    const remaining = this.#buffer.length - this.#offset;
    const full = remaining >= this.#rxDl - 1;
    if (frameLength > this.#rxDl || (full ? frameLength !== this.#rxDl : frameLength < remaining + 1)) {
      // ISO 15765-2 ignores a CF of the wrong length; the transfer then ends by wrong_sn or timeout.
      this.#link.counters.add('invalid_length');
      return false;
    }
    if (cf.sn !== this.#nextSn) {
      this.abort('wrong_sn', `expected CF ${this.#nextSn}, got ${cf.sn}`, out);
      return true;
    }
    const take = Math.min(remaining, cf.data.length);
    this.#buffer.set(cf.data.subarray(0, take), this.#offset);
    this.#offset += take;
    this.#nextSn = (this.#nextSn + 1) & 0x0f;
    if (this.#offset === this.#buffer.length) {
      out.emit.push({
        type: 'received',
        from: this.from,
        priority: framePriorityFor(this.canPriority),
        payload: this.#buffer,
        functional: false,
      });
      return true;
    }
    this.#deadline = now + this.#link.config.nCrUs;
    const { blockSize } = this.#link.config;
    if (blockSize > 0 && ++this.#blockCount === blockSize) {
      this.#blockCount = 0;
      this.#sendCts(out);
    }
    return false;
  }

  /** Returns true when N_Cr expired (the reception is then over). */
  service(now: number, out: Outbox): boolean {
    if (now < this.#deadline) return false;
    this.abort('timeout_cr', `no consecutive frame within ${this.#link.config.nCrUs} µs`, out);
    return true;
  }

  abort(code: RxErrorCode, message: string, out: Outbox): void {
    this.#link.counters.add(code);
    out.emit.push({ type: 'rx_error', from: this.from, error: codedError(code, message) });
  }

  #sendCts(out: Outbox): void {
    sendFlowControl(this.#link, out, { to: this.from, canPriority: this.canPriority, fd: this.#fd }, 'cts');
  }
}
