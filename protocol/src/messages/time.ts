import { int, opt, req, struct, u8, u32, u64 } from '../schema/index.js';

/**
 * TIME_SYNC_REQ (0x08): t1 is the host's send time in µs, echoed back so the host needs no state per
 * request. The device stamps t2 when the frame starts arriving. Every stamp of the exchange is taken
 * at the start of a frame on the wire, so transmission times cancel out.
 */
export const timeSyncReq = struct('time_sync_req', {
  t1: req(1, u64, 'Host clock (µs) when the request started on the wire; echoed.'),
});

/**
 * TIME_SYNC_RESP (0x09): t2 (receive) and t3 (send) on the device clock. A device that can only learn
 * t3 after transmission omits it here and sends TIME_SYNC_FOLLOWUP (two-step, as in PTP).
 */
export const timeSyncResp = struct('time_sync_resp', {
  t1: req(1, u64, 'Echo of the request t1.'),
  t2: req(
    2,
    u64,
    'Device clock when the request started arriving (first bit of its first byte or CAN frame).',
  ),
  t3: opt(3, u64, 'Device clock when this response starts on the wire; absent if a FOLLOWUP carries it.'),
});

export const timeSyncFollowup = struct('time_sync_followup', {
  t1: req(1, u64, 'Echo of the request t1 (matches the follow-up to its response).'),
  t3: req(3, u64, 'Device clock when the response started on the wire.'),
});

/**
 * TIME_MAP (0x0B): a gateway's estimate of a downstream node's clock against its own, so the host can
 * compose hops: node_time ≈ gateway_time + offset + skew × (gateway_time − at).
 */
export const timeMap = struct('time_map', {
  node: req(1, u8, 'Downstream node address.'),
  at: req(2, u64, 'Gateway clock (µs) at which the mapping was evaluated.'),
  offsetUs: req(3, int, 'node − gateway, in µs at `at`.'),
  skewPpb: req(4, int, 'Rate difference node vs gateway in parts per billion.'),
  errorBoundUs: req(5, u32, "Bound on the mapping's error in µs."),
  samples: opt(6, u32, 'Exchanges the estimate is based on.'),
});
