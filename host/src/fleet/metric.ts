/**
 * Sparkplug B metrics as the rest of the fleet code sees them: a name, one of the spec's data types and
 * a plain value (null = the spec's is_null). The protobuf shape stays in payload-codec.ts.
 */
export type DataType =
  | 'Int32'
  | 'Int64'
  | 'UInt32'
  | 'UInt64'
  | 'Float'
  | 'Double'
  | 'Boolean'
  | 'String'
  | 'DateTime';

/** The spec's numeric data type codes (Sparkplug B 3.0, "Data Types"). */
export const DATA_TYPE_CODE: Readonly<Record<DataType, number>> = {
  Int32: 3,
  Int64: 4,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
};

export type MetricValue = number | string | boolean | null;

export interface Metric {
  readonly name: string;
  readonly type: DataType;
  readonly value: MetricValue;
}

/** A Sparkplug payload before encoding. NDEATH carries no seq. */
export interface Payload {
  readonly timestamp: number;
  readonly seq?: number;
  readonly metrics: readonly Metric[];
}

export const metric = (name: string, type: DataType, value: MetricValue | undefined): Metric => ({
  name,
  type,
  value: value ?? null,
});
