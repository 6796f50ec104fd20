import type { CauseCounters } from '../counters.js';
import type { CanFrame } from './can-frame.js';
import type { ResolvedIsoTpConfig } from './config.js';
import type { IsoTpCounterCode } from './errors.js';
import type { IsoTpEmit } from './events.js';
import { padFrameData } from './padding.js';

/** What a transfer needs from its node: settings, counters, and a way to build frames. */
export interface Link {
  readonly config: ResolvedIsoTpConfig;
  readonly counters: CauseCounters<IsoTpCounterCode>;
}

/** Accumulates one handle call's output. */
export interface Outbox {
  readonly send: CanFrame[];
  readonly emit: IsoTpEmit[];
}

/** A padded frame with our framing options; `fd` is the frame format to use. */
export function makeFrame(link: Link, id: number, bytes: Uint8Array, fd: boolean): CanFrame {
  const data = padFrameData(bytes, fd, link.config.padding);
  return fd
    ? { id, extended: true, fd: true, brs: link.config.brs, data }
    : { id, extended: true, fd: false, data };
}
