/**
 * Which of a bus's counters (`status().buses[].counters`: the transport's own, with its parts' prefixes,
 * and the link layer's under `link_`) count trouble. They are named freely by each transport, so the
 * list names the ones that count normal work; every other counter is an error cause. A new counter
 * thus shows up as an error until listed here: noticed, rather than an error cause silently missed.
 */
const ACTIVITY = new Set([
  // transports and their parts (line_, master_, isotp_, media_): traffic and bookkeeping
  'frames',
  'frames_ok',
  'rx_frames',
  'tx_frames',
  'rx_bytes',
  'tx_bytes',
  'tx_done',
  'tx_delivered',
  'ack',
  'rtr_frames',
  'forwarded',
  'opened',
  'poll',
  'request_frame',
  'request_read',
  'request_bulk_broadcast',
  // frames addressed to another node of a shared bus (CAN, RS-485): normal there
  'not_for_us',
  // the link layer
  'sent',
  'requests',
  'events_sent',
  'answers',
  'received',
  'unsolicited',
]);

/** Counters that add up others: the link's bad_frames is the sum of its causes, each counted too. */
const AGGREGATE = new Set(['link_bad_frames']);

const PARTS = /^(link|line|master|isotp|media)_/;

export type CounterKind = 'activity' | 'error' | 'aggregate';

export function counterKind(name: string): CounterKind {
  if (AGGREGATE.has(name)) return 'aggregate';
  return ACTIVITY.has(name.replace(PARTS, '')) ? 'activity' : 'error';
}
