import { decodeCbor, diagnostic, type Frame, MESSAGES, type MessageName, readHeader } from '@mcubus/protocol';

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/** One line for a decoded frame: addresses, flags, sequence and the body in CBOR diagnostic notation. */
export function describeFrame(frame: Frame, bytes: Uint8Array): string {
  const h = frame.header;
  const name = frame.message.type === 'unknown' ? `unknown(${hex2(frame.message.code)})` : frame.message.type;
  const flags = [h.response ? 'response' : '', h.retransmit ? 'retransmit' : '', `prio ${h.priority}`]
    .filter(Boolean)
    .join(',');
  const body = decodeCbor(bytes.subarray(8, bytes.length - 4));
  const unknown = frame.message.unknownKeys.length
    ? ` unknown keys: ${frame.message.unknownKeys.join(', ')}`
    : '';
  return `${hex2(h.src)} → ${hex2(h.dst)} seq ${h.seq} ttl ${h.ttl} [${flags}] ${name.toUpperCase()} ${
    body.ok ? diagnostic(body.value) : '(body unreadable)'
  }${unknown}`;
}

/** Header fields even of a frame that failed to decode, when there are enough bytes for a header. */
export function describeHeaderOnly(bytes: Uint8Array): string {
  if (bytes.length < 8) return `${bytes.length} byte(s), too short for a header`;
  const h = readHeader(bytes);
  const known = (Object.keys(MESSAGES) as MessageName[]).find((n) => MESSAGES[n].code === h.type);
  return `claims ${hex2(h.src)} → ${hex2(h.dst)} seq ${h.seq} type ${known ?? hex2(h.type)} (${bytes.length} bytes)`;
}
