import { array, int, number, opt, req, struct, text, u8, u16, u32, u64 } from '../schema/index.js';

/** LOG (0x30): a device log line with its device timestamp. */
export const log = struct('log', {
  deviceTime: req(1, u64, 'Device clock (µs counter) when the line was logged.'),
  level: req(2, u8, 'LogLevel: 0 debug, 1 info, 2 warning, 3 error, 4 critical.'),
  text: req(3, text(512), 'The message.'),
  module: opt(4, text(32), 'Firmware module that logged it.'),
});

export const sample = struct('sample', {
  channel: req(1, u16, 'Device-defined channel id.'),
  deviceTime: req(2, u64, 'Device clock (µs counter) when the value was measured.'),
  value: req(3, number, 'Integer or float64.'),
});

/** TELEMETRY (0x31): samples, each with the device time it was taken at. */
export const telemetry = struct('telemetry', {
  samples: req(1, array(sample, { max: 64 }), 'Samples, oldest first.'),
});

/** TOPOLOGY_REQ (0x40) / TOPOLOGY (0x41): a gateway's view of its downstream nodes. */
export const topologyReq = struct('topology_req', {});

export const routeEntry = struct('route', {
  node: req(1, u8, 'Downstream node address.'),
  port: req(2, u8, "The gateway's downstream port the node sits on (0-based)."),
  hops: req(3, u8, 'Hops from the gateway (1 = on its bus).'),
  state: req(4, u8, 'RouteState: 0 unknown, 1 up, 2 down.'),
  lastSeenMs: opt(5, u32, 'Milliseconds since the gateway last heard the node.'),
});

export const topology = struct('topology', {
  routes: req(1, array(routeEntry, { max: 64 }), 'One entry per downstream node.'),
});

/** OK (0x7E): success answer to a request that returns nothing else. */
export const okMessage = struct('ok', { detail: opt(1, text(128), 'Optional note.') });

/** ERROR (0x7F): a request failed, or a node reports a problem (e.g. a gateway's no_route). */
export const errorMessage = struct('error', {
  code: req(1, u16, 'ErrorCode (see Error codes).'),
  message: opt(2, text(256), 'Human-readable explanation.'),
  requestType: opt(3, u8, 'Type code of the request that failed.'),
  reporter: opt(4, u8, 'Address of the node that raised it (a gateway on the path, for routing errors).'),
  detail: opt(5, int, 'Code-specific number (e.g. the expected offset for bad_offset).'),
});
