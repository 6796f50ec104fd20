import protobuf from 'protobufjs';
import { DATA_TYPE_CODE, type DataType, type Metric, type MetricValue, type Payload } from './metric.js';

/**
 * Sparkplug B payloads on the wire (Google Protocol Buffers, the spec's sparkplug_b.proto, package
 * org.eclipse.tahu.protobuf). Only the fields this daemon writes or reads are declared: field numbers
 * are what the wire carries, and protobuf decoders skip fields they do not declare, so a payload with
 * templates, data sets or properties from another node still decodes.
 *
 * Why protobufjs and not sparkplug-payload: sparkplug-payload (1.0.3) pins protobufjs 6 and long 4,
 * both majors behind; protobufjs 8 is maintained, pure JavaScript, and this schema is a dozen lines.
 */
const PROTO = `
syntax = "proto2";
package org.eclipse.tahu.protobuf;
message Payload {
  message Metric {
    optional string name = 1;
    optional uint64 alias = 2;
    optional uint64 timestamp = 3;
    optional uint32 datatype = 4;
    optional bool is_historical = 5;
    optional bool is_transient = 6;
    optional bool is_null = 7;
    oneof value {
      uint32 int_value = 10;
      uint64 long_value = 11;
      float float_value = 12;
      double double_value = 13;
      bool boolean_value = 14;
      string string_value = 15;
      bytes bytes_value = 16;
    }
  }
  optional uint64 timestamp = 1;
  repeated Metric metrics = 2;
  optional uint64 seq = 3;
  optional string uuid = 4;
  optional bytes body = 5;
}
`;

// keepCase: the spec's snake_case field names, as written above (protobufjs would camelCase them).
const PayloadType = protobuf
  .parse(PROTO, { keepCase: true })
  .root.lookupType('org.eclipse.tahu.protobuf.Payload');
const TYPE_BY_CODE = new Map(Object.entries(DATA_TYPE_CODE).map(([k, v]) => [v, k as DataType]));

export class PayloadDecodeError extends Error {
  constructor(message: string) {
    super(`not a Sparkplug B payload: ${message}`);
    this.name = 'PayloadDecodeError';
  }
}

export function encodePayload(p: Payload): Uint8Array {
  const message = PayloadType.fromObject({
    timestamp: p.timestamp,
    ...(p.seq === undefined ? {} : { seq: p.seq }),
    metrics: p.metrics.map(encodeMetric),
  });
  return PayloadType.encode(message).finish();
}

function encodeMetric(m: Metric): Record<string, unknown> {
  const out: Record<string, unknown> = { name: m.name, datatype: DATA_TYPE_CODE[m.type] };
  if (m.value === null) return { ...out, is_null: true };
  switch (m.type) {
    // The spec stores signed integers as their two's complement in the unsigned fields.
    case 'Int32':
    case 'UInt32':
      return { ...out, int_value: Number(m.value) >>> 0 };
    case 'Int64':
    case 'UInt64':
    case 'DateTime':
      return { ...out, long_value: BigInt.asUintN(64, BigInt(Math.trunc(Number(m.value)))).toString() };
    case 'Float':
      return { ...out, float_value: Number(m.value) };
    case 'Double':
      return { ...out, double_value: Number(m.value) };
    case 'Boolean':
      return { ...out, boolean_value: Boolean(m.value) };
    case 'String':
      return { ...out, string_value: String(m.value) };
  }
}

/** Decodes what another Sparkplug client sent (commands, and the tests' view of what we publish). */
export function decodePayload(bytes: Uint8Array): Payload {
  let obj: Record<string, unknown>;
  try {
    obj = PayloadType.toObject(PayloadType.decode(bytes), { longs: String }) as Record<string, unknown>;
  } catch (e) {
    throw new PayloadDecodeError((e as Error).message);
  }
  const metrics = ((obj.metrics as Record<string, unknown>[] | undefined) ?? []).map(decodeMetric);
  return {
    timestamp: Number(obj.timestamp ?? 0),
    ...(obj.seq === undefined ? {} : { seq: Number(obj.seq) }),
    metrics,
  };
}

function decodeMetric(m: Record<string, unknown>): Metric {
  const type = TYPE_BY_CODE.get(Number(m.datatype)) ?? guessType(m);
  const name = String(m.name ?? '');
  if (m.is_null) return { name, type, value: null };
  let value: MetricValue = null;
  if (m.int_value !== undefined) {
    value = type === 'Int32' ? Number(m.int_value) | 0 : Number(m.int_value);
  } else if (m.long_value !== undefined) {
    const big = BigInt(String(m.long_value));
    value = Number(type === 'Int64' ? BigInt.asIntN(64, big) : big);
  } else if (m.float_value !== undefined) value = Number(m.float_value);
  else if (m.double_value !== undefined) value = Number(m.double_value);
  else if (m.boolean_value !== undefined) value = Boolean(m.boolean_value);
  else if (m.string_value !== undefined) value = String(m.string_value);
  return { name, type, value };
}

/** Metrics in NCMD/DCMD may omit the datatype (aliases only), the value field tells enough. */
function guessType(m: Record<string, unknown>): DataType {
  if (m.boolean_value !== undefined) return 'Boolean';
  if (m.string_value !== undefined) return 'String';
  if (m.double_value !== undefined) return 'Double';
  if (m.float_value !== undefined) return 'Float';
  if (m.long_value !== undefined) return 'UInt64';
  return 'UInt32';
}
