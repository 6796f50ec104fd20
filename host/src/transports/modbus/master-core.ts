import { CauseCounters, modbus } from '@mcubus/protocol';

/** Bulk frames per addressed poll (ModbusMasterOptions.bulkPollEvery). */
export const DEFAULT_BULK_POLL_EVERY = 8;

export interface ModbusMasterOptions {
  /** Slave addresses of the mcubus devices on this line, polled in turn. */
  readonly slaves: readonly number[];
  readonly timing: modbus.RtuTiming;
  /** How long to wait for a response before declaring a timeout (µs). */
  readonly responseTimeoutUs: number;
  /** Gap between two empty polls of the same slave when it has nothing to say (µs). */
  readonly idlePollUs: number;
  /** Back-off after a busy (exception 06) answer (µs). */
  readonly busyBackoffUs?: number;
  /** Extra silence on top of t3.5 between transactions (USB adapter latency, µs). */
  readonly extraGapUs?: number;
  /**
   * Bulk frames (update chunks) go in broadcast requests, which nobody answers, and every this many-th
   * one in an addressed request whose response brings the device's acknowledgement (§8.7 "Bulk
   * frames"). 0 or 1: every frame in an addressed transaction. Default DEFAULT_BULK_POLL_EVERY.
   */
  readonly bulkPollEvery?: number;
}

export type MasterInput =
  | {
      readonly type: 'send';
      readonly slave: number;
      readonly frame: Uint8Array;
      readonly handle: number;
      /** Bulk priority: may travel in an unanswered broadcast. */
      readonly bulk?: boolean;
    }
  | {
      readonly type: 'read';
      readonly slave: number;
      readonly fn: 0x03 | 0x04;
      readonly start: number;
      readonly quantity: number;
      readonly handle: number;
    }
  | { readonly type: 'bytes'; readonly bytes: Uint8Array }
  | { readonly type: 'tick' };

export type MasterEmit =
  | { readonly type: 'frame'; readonly slave: number; readonly frame: Uint8Array; readonly endUs: number }
  | { readonly type: 'delivered'; readonly handle: number; readonly slave: number }
  | {
      readonly type: 'registers';
      readonly handle: number;
      readonly slave: number;
      readonly registers: readonly number[];
    }
  | { readonly type: 'failed'; readonly handle: number; readonly slave: number; readonly reason: string }
  | { readonly type: 'timeout'; readonly slave: number }
  | { readonly type: 'exception'; readonly slave: number; readonly code: number }
  /** Bytes or an ADU the master dropped (framer garbage, a response nobody asked for, a bad response). */
  | { readonly type: 'bad_input'; readonly code: string; readonly detail: string };

export interface MasterOutput {
  /** ADUs to write, in order. */
  readonly send: Uint8Array[];
  readonly wakeAt?: number;
  readonly emit: MasterEmit[];
  /** Every ADU the framer cut from the received bytes, in order, whatever became of it (captures). */
  readonly received?: readonly modbus.Adu[];
}

/**
 * Callers convert between µs and their own clock (ns in the simulator), which can land a hair before a
 * deadline; a deadline within this margin counts as reached, so a wake-up always makes progress.
 */
const EPSILON_US = 1e-3;
/** Margin on top of t3.5 so that rounding never makes our gap shorter than the rule. */
const GAP_MARGIN_US = 1;

type Job =
  | { kind: 'frame'; slave: number; frame: Uint8Array; handle: number; bulk: boolean }
  | { kind: 'read'; slave: number; fn: 0x03 | 0x04; start: number; quantity: number; handle: number };

interface InFlight {
  readonly job: Job | null;
  readonly slave: number;
  /** Function code of the request: the answer must carry it (or it with bit 7 set, an exception). */
  readonly fn: number;
  readonly deadlineUs: number;
}

/**
 * Sans-IO Modbus RTU master for the mcubus FC 0x41 tunnel (docs/protocol.md §8): one transaction at a
 * time on the line; a slave with something to say (its last answer carried a frame) is polled again
 * at once, others every `idlePollUs`; our own frames ride in the poll requests. Time in µs.
 */
export class ModbusTunnelMaster {
  readonly counters = new CauseCounters();
  readonly #framer: modbus.RtuFramer;
  readonly #jobs: Job[] = [];
  readonly #nextPollUs = new Map<number, number>();
  #inFlight: InFlight | null = null;
  /** The line must stay quiet until then (t3.5 after the last byte, or a busy back-off). */
  #quietUntilUs = 0;
  #cursor = 0;
  #lastWasJob = false;
  /** Slaves that refused FC 0x41 (exception 01): never polled again, frames to them fail at once. */
  readonly #noTunnel = new Set<number>();
  /** Bulk broadcasts to each slave since its last addressed request. */
  readonly #bulkSincePoll = new Map<number, number>();

  constructor(readonly opts: ModbusMasterOptions) {
    this.#framer = new modbus.RtuFramer({ role: 'master', timing: opts.timing });
    for (const s of opts.slaves) this.#nextPollUs.set(s, 0);
  }

  handle(input: MasterInput, nowUs: number): MasterOutput {
    const out: { send: Uint8Array[]; emit: MasterEmit[] } = { send: [], emit: [] };
    const received: modbus.Adu[] = [];
    switch (input.type) {
      case 'send':
        this.#jobs.push({
          kind: 'frame',
          slave: input.slave,
          frame: input.frame,
          handle: input.handle,
          bulk: input.bulk ?? false,
        });
        break;
      case 'read':
        this.#jobs.push({ kind: 'read', ...input });
        break;
      case 'bytes':
        for (const r of this.#framer.push(input.bytes, nowUs)) {
          if (r.ok) received.push(r.value);
          this.#onAdu(r, nowUs, out.emit);
        }
        break;
      case 'tick':
        break;
    }
    this.#expire(nowUs, out.emit);
    this.#startNext(nowUs, out);
    const wakeAt = this.#wakeAt();
    return {
      ...out,
      ...(wakeAt === undefined ? {} : { wakeAt }),
      ...(received.length > 0 ? { received } : {}),
    };
  }

  #onAdu(r: ReturnType<modbus.RtuFramer['push']>[number], nowUs: number, emit: MasterEmit[]): void {
    if (!r.ok) {
      // Also counted by the framer; surfaced so that the adapter can report it.
      this.counters.add(`rx_${r.error.code}`);
      emit.push({ type: 'bad_input', code: r.error.code, detail: r.error.message });
      return;
    }
    const f = this.#inFlight;
    if (!f || r.value.address !== f.slave) {
      this.counters.add('unexpected_response');
      emit.push({
        type: 'bad_input',
        code: 'unexpected_response',
        detail: `ADU from slave ${r.value.address} while ${f ? `waiting for slave ${f.slave}` : 'no request is pending'}`,
      });
      return;
    }
    if (r.value.function !== f.fn && r.value.function !== (f.fn | modbus.EXCEPTION_FLAG)) {
      this.counters.add('wrong_function');
      emit.push({
        type: 'bad_input',
        code: 'wrong_function',
        detail: `slave ${f.slave} answered function 0x${r.value.function.toString(16)} to a 0x${f.fn.toString(16)} request`,
      });
      return; // not an answer to our request: keep waiting until the deadline
    }
    const res = modbus.responseFromAdu(r.value);
    this.#inFlight = null;
    this.#quietUntilUs = nowUs + this.opts.timing.t35Us + GAP_MARGIN_US + (this.opts.extraGapUs ?? 0);
    if (!res.ok) {
      this.counters.add(`bad_response_${res.error.code}`);
      emit.push({ type: 'bad_input', code: `bad_response_${res.error.code}`, detail: res.error.message });
      // At most once (§8.8): the slave may have taken the frame, so it is not resent.
      if (f.job) emit.push({ type: 'failed', handle: f.job.handle, slave: f.slave, reason: 'bad_response' });
      return;
    }
    const response = res.value;
    if (response.kind === 'exception') {
      this.counters.add(`exception_${response.code}`);
      emit.push({ type: 'exception', slave: f.slave, code: response.code });
      if (response.code === modbus.ExceptionCode.SERVER_DEVICE_BUSY) {
        this.#quietUntilUs = nowUs + (this.opts.busyBackoffUs ?? 20_000);
        this.#retry(f);
        return;
      }
      this.#setNextPoll(f.slave, nowUs + this.opts.idlePollUs);
      if (response.code === modbus.ExceptionCode.ILLEGAL_FUNCTION && f.fn === 0x41) {
        // §8.7: the device does not speak the tunnel. Stop polling it; its register reads still work.
        this.#noTunnel.add(f.slave);
        this.counters.add('tunnel_refused');
      }
      if (f.job) {
        emit.push({
          type: 'failed',
          handle: f.job.handle,
          slave: f.slave,
          reason: modbus.exceptionName(response.code) ?? `exception ${response.code}`,
        });
      }
      return;
    }
    if (f.job?.kind === 'frame') emit.push({ type: 'delivered', handle: f.job.handle, slave: f.slave });
    if (response.kind === 'read_registers' && f.job?.kind === 'read') {
      emit.push({ type: 'registers', handle: f.job.handle, slave: f.slave, registers: response.registers });
    }
    if (response.kind === 'mcubus') {
      if (response.frame) {
        emit.push({ type: 'frame', slave: f.slave, frame: response.frame, endUs: nowUs });
        this.#setNextPoll(f.slave, 0); // it may have more: ask again at once
      } else {
        this.#setNextPoll(f.slave, nowUs + this.opts.idlePollUs);
      }
    }
  }

  /**
   * Only the tunnel slaves are polled. A register read of a third-party slave must not give it a poll
   * time: nothing would ever poll it, and a past poll time would make every wake-up due at once.
   */
  #setNextPoll(slave: number, atUs: number): void {
    if (this.#nextPollUs.has(slave)) this.#nextPollUs.set(slave, atUs);
  }

  /** Busy answers are retried; the frame goes again at the head of the queue. */
  #retry(f: InFlight): void {
    if (f.job) this.#jobs.unshift(f.job);
  }

  #expire(nowUs: number, emit: MasterEmit[]): void {
    const f = this.#inFlight;
    if (!f || nowUs < f.deadlineUs - EPSILON_US) return;
    this.#inFlight = null;
    this.#framer.reset();
    this.counters.add('timeout');
    emit.push({ type: 'timeout', slave: f.slave });
    // At most once: a frame whose transaction timed out may have arrived; mcubus retransmits end to end.
    if (f.job) emit.push({ type: 'failed', handle: f.job.handle, slave: f.slave, reason: 'timeout' });
    this.#setNextPoll(f.slave, nowUs + this.opts.idlePollUs);
    this.#quietUntilUs = nowUs + this.opts.timing.t35Us + GAP_MARGIN_US;
  }

  #startNext(nowUs: number, out: { send: Uint8Array[]; emit: MasterEmit[] }): void {
    if (this.#inFlight || nowUs < this.#quietUntilUs - EPSILON_US) return;
    // Alternate queued frames with due polls, so one device's backlog cannot starve the others. A
    // frame for the very slave that is due polls it as well (its response carries the slave's queued
    // frame): no separate poll then, which would halve a transfer's rate.
    let duePoll = this.#lastWasJob ? this.#duePoll(nowUs) : undefined;
    if (duePoll !== undefined && this.#jobs[0]?.kind === 'frame' && this.#jobs[0].slave === duePoll)
      duePoll = undefined;
    const job = duePoll === undefined ? (this.#jobs.shift() ?? null) : null;
    const slave = job ? job.slave : (duePoll ?? this.#duePoll(nowUs));
    if (slave === undefined) return;
    this.#lastWasJob = job !== null;
    if (job?.kind === 'frame' && this.#noTunnel.has(slave)) {
      out.emit.push({
        type: 'failed',
        handle: job.handle,
        slave,
        reason: 'not an mcubus device (exception 01)',
      });
      return;
    }
    if (job?.kind === 'frame' && this.#broadcastBulk(job, nowUs, out)) return;
    this.#bulkSincePoll.delete(slave);
    let request: modbus.ModbusRequest;
    if (job?.kind === 'read') {
      request = {
        address: slave,
        kind: 'read_registers',
        function: job.fn,
        start: job.start,
        quantity: job.quantity,
      };
    } else {
      request = {
        address: slave,
        kind: 'mcubus',
        function: 0x41,
        frame: job?.kind === 'frame' ? job.frame : null,
      };
    }
    const adu = modbus.encodeRequest(request);
    if (!adu.ok) {
      this.counters.add(`encode_${adu.error.code}`);
      if (job) out.emit.push({ type: 'failed', handle: job.handle, slave, reason: adu.error.message });
      return;
    }
    const txUs = modbus.aduTimeUs(adu.value.length, this.opts.timing);
    this.#inFlight = {
      job,
      slave,
      fn: request.function,
      deadlineUs: nowUs + txUs + this.opts.responseTimeoutUs,
    };
    this.counters.add(job ? `request_${job.kind}` : 'poll');
    out.send.push(adu.value);
  }

  /**
   * A bulk frame rides in a broadcast (address 0): no slave answers, so the next request follows
   * after t3.5 instead of a turnaround and a response. The frame's own dst tells the devices whose it
   * is. The addressed device is polled soon after (its acknowledgement waits in its queue), at the
   * latest with the `bulkPollEvery`-th frame, which goes addressed. At most once, like any request.
   */
  #broadcastBulk(
    job: Extract<Job, { kind: 'frame' }>,
    nowUs: number,
    out: { send: Uint8Array[]; emit: MasterEmit[] },
  ): boolean {
    const every = this.opts.bulkPollEvery ?? DEFAULT_BULK_POLL_EVERY;
    const sent = this.#bulkSincePoll.get(job.slave) ?? 0;
    if (!job.bulk || every <= 1 || sent >= every - 1) return false;
    const adu = modbus.encodeRequest({
      address: modbus.BROADCAST_ADDRESS,
      kind: 'mcubus',
      function: 0x41,
      frame: job.frame,
    });
    if (!adu.ok) return false; // the addressed path reports the encoding error
    this.#bulkSincePoll.set(job.slave, sent + 1);
    this.#setNextPoll(job.slave, 0);
    const txUs = modbus.aduTimeUs(adu.value.length, this.opts.timing);
    this.#quietUntilUs = nowUs + txUs + this.opts.timing.t35Us + GAP_MARGIN_US + (this.opts.extraGapUs ?? 0);
    this.counters.add('request_bulk_broadcast');
    out.send.push(adu.value);
    out.emit.push({ type: 'delivered', handle: job.handle, slave: job.slave });
    return true;
  }

  #duePoll(nowUs: number): number | undefined {
    const slaves = this.opts.slaves;
    for (let i = 0; i < slaves.length; i++) {
      const s = slaves[(this.#cursor + i) % slaves.length]!;
      if (this.#noTunnel.has(s)) continue;
      if ((this.#nextPollUs.get(s) ?? 0) <= nowUs + EPSILON_US) {
        this.#cursor = (this.#cursor + i + 1) % slaves.length;
        return s;
      }
    }
    return undefined;
  }

  #wakeAt(): number | undefined {
    if (this.#inFlight) return this.#inFlight.deadlineUs;
    const candidates = [this.#quietUntilUs];
    if (this.#jobs.length === 0) {
      const polls = [...this.#nextPollUs].filter(([s]) => !this.#noTunnel.has(s)).map(([, at]) => at);
      if (polls.length === 0) return undefined;
      candidates.push(Math.min(...polls));
    }
    return Math.max(...candidates);
  }
}
