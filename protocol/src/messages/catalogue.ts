import type { Fields, StructCodec, StructOf } from '../schema/index.js';
import { heartbeat, ping, pong, reset } from './health.js';
import { hello, identify } from './identity.js';
import { errorMessage, log, okMessage, telemetry, topology, topologyReq } from './misc.js';
import { timeMap, timeSyncFollowup, timeSyncReq, timeSyncResp } from './time.js';
import { traceRecords, traceReq } from './trace.js';
import {
  updateAbort,
  updateAck,
  updateActivate,
  updateBegin,
  updateChunk,
  updateConfirm,
  updateStatus,
  updateStatusReq,
  updateVerify,
} from './update.js';

/**
 * Every v1 message: its one-byte type code (header byte 5), its body schema, and for requests the
 * messages that may answer it (ERROR may answer any request). The spec's tables are generated from this.
 */
export const MESSAGES = {
  hello: {
    code: 0x01,
    schema: hello,
    expects: [],
    doc: 'Identity. Sent unsolicited at every boot (application and bootloader) and as the answer to IDENTIFY.',
  },
  identify: { code: 0x02, schema: identify, expects: ['hello'], doc: 'Asks for HELLO.' },
  heartbeat: {
    code: 0x03,
    schema: heartbeat,
    expects: [],
    doc: 'Periodic liveness and health; also sent by the bootloader.',
  },
  ping: {
    code: 0x04,
    schema: ping,
    expects: ['pong'],
    doc: 'Probe through the route; the cheapest request a device answers.',
  },
  pong: { code: 0x05, schema: pong, expects: [], doc: 'Answer to PING.' },
  time_sync_req: {
    code: 0x08,
    schema: timeSyncReq,
    expects: ['time_sync_resp'],
    doc: 'Two-way time exchange, host side (t1).',
  },
  time_sync_resp: {
    code: 0x09,
    schema: timeSyncResp,
    expects: [],
    doc: 'Device receive (t2) and send (t3) stamps.',
  },
  time_sync_followup: {
    code: 0x0a,
    schema: timeSyncFollowup,
    expects: [],
    doc: 'Precise t3 after the response left (two-step devices).',
  },
  time_map: {
    code: 0x0b,
    schema: timeMap,
    expects: [],
    doc: "A gateway's mapping of a downstream clock onto its own.",
  },
  update_begin: {
    code: 0x10,
    schema: updateBegin,
    expects: ['update_status'],
    doc: 'Opens or resumes an image transfer.',
  },
  update_chunk: {
    code: 0x11,
    schema: updateChunk,
    expects: [],
    doc: 'Image data; acknowledged in batches by UPDATE_ACK.',
  },
  update_ack: {
    code: 0x12,
    schema: updateAck,
    expects: [],
    doc: 'Cumulative + selective acknowledgement and flow-control window.',
  },
  update_verify: {
    code: 0x13,
    schema: updateVerify,
    expects: ['update_status'],
    doc: 'Check hash and signature of the received image.',
  },
  update_activate: {
    code: 0x14,
    schema: updateActivate,
    expects: ['ok'],
    doc: 'Mark the verified image for (test) boot; a RESET follows.',
  },
  update_confirm: {
    code: 0x15,
    schema: updateConfirm,
    expects: ['ok'],
    doc: 'Make the running test image permanent.',
  },
  update_abort: { code: 0x16, schema: updateAbort, expects: ['ok'], doc: 'Abandon a session.' },
  update_status_req: {
    code: 0x17,
    schema: updateStatusReq,
    expects: ['update_status'],
    doc: 'Ask for the update state.',
  },
  update_status: {
    code: 0x18,
    schema: updateStatus,
    expects: [],
    doc: 'Update state, resume point and transfer parameters.',
  },
  reset: {
    code: 0x20,
    schema: reset,
    expects: ['ok'],
    doc: 'Reboot (into the application, the bootloader or safe mode).',
  },
  log: { code: 0x30, schema: log, expects: [], doc: 'A device log line.' },
  telemetry: { code: 0x31, schema: telemetry, expects: [], doc: 'Timestamped samples.' },
  topology_req: {
    code: 0x40,
    schema: topologyReq,
    expects: ['topology'],
    doc: 'Ask a gateway for its downstream nodes.',
  },
  topology: { code: 0x41, schema: topology, expects: [], doc: "A gateway's downstream nodes." },
  trace_req: {
    code: 0x42,
    schema: traceReq,
    expects: ['trace_records'],
    doc: 'Ask a forwarding node for its log of what it did with each frame.',
  },
  trace_records: {
    code: 0x43,
    schema: traceRecords,
    expects: [],
    doc: "A forwarding node's log: per frame, when, from which port to which, and the outcome.",
  },
  ok: { code: 0x7e, schema: okMessage, expects: [], doc: 'Success answer with no other content.' },
  error: {
    code: 0x7f,
    schema: errorMessage,
    expects: [],
    doc: 'Failure answer, or a problem reported by a node on the path.',
  },
} as const satisfies Record<
  string,
  { code: number; schema: StructCodec<Fields>; expects: readonly string[]; doc: string }
>;

export type MessageName = keyof typeof MESSAGES;
export type BodyOf<N extends MessageName> = StructOf<(typeof MESSAGES)[N]['schema']['fields']>;
/** A typed message: `{ type: 'heartbeat', body: { uptimeMs, … } }`. */
export type Message = { [N in MessageName]: { readonly type: N; readonly body: BodyOf<N> } }[MessageName];

export const MESSAGE_NAMES = Object.keys(MESSAGES) as MessageName[];

const BY_CODE = new Map<number, MessageName>(MESSAGE_NAMES.map((n) => [MESSAGES[n].code, n]));
if (BY_CODE.size !== MESSAGE_NAMES.length) throw new Error('two messages share a type code');

export function messageNameOf(code: number): MessageName | undefined {
  return BY_CODE.get(code);
}

export function messageCode(name: MessageName): number {
  return MESSAGES[name].code;
}
