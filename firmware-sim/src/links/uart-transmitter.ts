import type { Prng } from '../kernel/prng.js';
import type { SimTime } from '../kernel/scheduler.js';
import type { Sim } from '../kernel/sim.js';
import type { FaultPlan } from './faults.js';
import { dataMask } from './uart-char-errors.js';
import type { LineEndpointCounters } from './uart-counters.js';
import type { LineFormat } from './uart-format.js';
import { hexPreview } from './uart-hex.js';
import type { Wire } from './uart-wire.js';

export interface TransmitterOptions {
  readonly name: string;
  readonly sourceId: number;
  readonly wire: Wire;
  readonly format: LineFormat;
  readonly plan: FaultPlan | null;
  /** Where a delay fault stalls the write. */
  readonly stallRng: Prng;
  readonly traceSource: string;
  readonly counters: LineEndpointCounters;
}

/**
 * The transmit side of an endpoint: a queue that puts writes on the wire back to back at the line rate,
 * after applying the link's fault plan to each write.
 *
 * A delay fault stalls the transmitter *inside* the write (before a byte drawn in 1…n−1; before the
 * only byte of a 1-byte write): a latency before a write is indistinguishable from writing later,
 * which the caller controls, while a gap inside a frame is what only a fault (a preempted driver, a
 * USB-serial adapter's packetisation) produces and what receivers' framers must cope with.
 */
export class Transmitter {
  #idleAt: SimTime = 0;
  #writes = 0;

  constructor(
    readonly sim: Sim,
    readonly options: TransmitterOptions,
  ) {}

  /** When everything written so far has left the wire. */
  get idleAt(): SimTime {
    return this.#idleAt;
  }

  write(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n === 0) return;
    const o = this.options;
    const c = o.counters;
    c.writes++;
    const writeId = this.#writes++;
    const mask = dataMask(o.format);
    const data = bytes.map((b) => b & mask);
    const d = o.plan?.decide(this.sim.now, o.name, n * o.format.dataBits);
    if (d?.drop) {
      c.faultDrops++;
      this.sim.record(o.traceSource, 'fault-drop', `${o.name} ${n}B ${hexPreview(data)}`);
      return;
    }
    let notes = '';
    if (d && d.corruptBit !== null) {
      const bit = d.corruptBit;
      data[Math.floor(bit / o.format.dataBits)]! ^= 1 << (bit % o.format.dataBits);
      c.faultCorruptions++;
      notes += ` corrupt-bit=${bit}`;
    }
    const delay = Math.round(d?.extraDelayNs ?? 0);
    const start = Math.max(this.sim.now, this.#idleAt);
    const send = (at: SimTime, part: Uint8Array) =>
      o.wire.transmit({ source: o.sourceId, sender: o.name, writeId, start: at, bytes: part });
    let end: SimTime;
    if (delay > 0) {
      const k = n === 1 ? 0 : 1 + o.stallRng.int(n - 1);
      if (k > 0) send(start, data.subarray(0, k));
      end = send(o.wire.charStart(start, k) + delay, data.subarray(k));
      c.faultDelays++;
      notes += ` stall=${delay}ns@${k}`;
    } else end = send(start, data);
    c.bytesSent += n;
    if (d?.duplicate) {
      end = send(end, data);
      c.bytesSent += n;
      c.faultDuplicates++;
      notes += ' duplicated';
    }
    this.#idleAt = end;
    this.sim.record(o.traceSource, 'write', `${o.name} ${n}B @${start}..${end} ${hexPreview(data)}${notes}`);
  }
}
