import { array, opt, req, struct, text, u8, u16, u32, u64 } from '../schema/index.js';

/**
 * What a forwarding node did with one frame (ForwardOutcome). The host matches these against its own
 * view of a request to tell on which hop a frame was lost (docs/observability.md "Tracing").
 */
export const forwardRecord = struct('forward_record', {
  index: req(1, u32, "Position in the node's forwarding log (counts up by one per record, wraps at 2^32)."),
  at: req(
    2,
    u64,
    'Node clock (µs) when the frame was received and handed to the outgoing port (or dropped).',
  ),
  src: req(3, u8, "The frame's src."),
  dst: req(4, u8, "The frame's dst."),
  seq: req(5, u16, "The frame's seq."),
  type: req(6, u8, "The frame's type code."),
  flags: req(7, u8, "The frame's flags byte (RESPONSE, RETRANSMIT, priority)."),
  inPort: req(8, u8, 'Port it arrived on (index into TRACE_RECORDS `ports`).'),
  outPort: opt(9, u8, 'Port it left on; absent when it was dropped before.'),
  outcome: req(10, u8, 'ForwardOutcome.'),
  wireAt: opt(
    11,
    u64,
    'Node clock (µs) when the frame started on the outgoing port, once it has: a frame may wait behind others.',
  ),
});

export const traceKey = struct('trace_key', {
  src: req(1, u8, 'Frame src.'),
  dst: req(2, u8, 'Frame dst.'),
  seq: req(3, u16, 'Frame seq.'),
});

/**
 * TRACE_REQ (0x42): the host asks a forwarding node for its log from record `since` on — every
 * record, or with `match` only those of the frames it names. Asking only about the requests it
 * must explain (retried, failed) keeps the cost proportional to the problems, not to the traffic.
 */
export const traceReq = struct('trace_req', {
  since: req(1, u32, 'First record index wanted (the `next` of the previous answer; 0 at first).'),
  max: opt(2, u8, 'At most this many records (the node may send fewer to fit its frame limit).'),
  match: opt(
    3,
    array(traceKey, { max: 32 }),
    'Only records of frames with one of these src/dst/seq (either direction of an exchange: list both).',
  ),
});

/**
 * TRACE_RECORDS (0x43): the records from `since` that the node still holds, oldest first. Frames of
 * bulk priority (update chunks) are only counted: recording each would cost the path more than it tells.
 */
export const traceRecords = struct('trace_records', {
  next: req(1, u32, 'Index to ask for next time.'),
  oldest: req(
    2,
    u32,
    'Oldest index the node still holds: records between `since` and this were overwritten.',
  ),
  ports: req(3, array(text(16), { max: 8 }), "Names of the node's ports, for inPort/outPort."),
  records: req(4, array(forwardRecord, { max: 64 }), 'Records, oldest first.'),
  bulkForwarded: opt(5, u32, 'Bulk-priority frames forwarded since boot (not recorded one by one).'),
  oldestAt: opt(6, u64, 'Node clock (µs) of the oldest record held: what happened before is forgotten.'),
});
