import type { ApiClient } from '@mcubus/host';

/** SlotFlag bits of HELLO's slot list (docs/protocol.md): 1 active, 2 confirmed. */
const ACTIVE = 1;
const CONFIRMED = 2;

export interface RunningImage {
  readonly version: string;
  /** SHA-256 of the active slot's image, hex; null when the device does not report it. */
  readonly sha256: string | null;
  readonly confirmed: boolean;
}

/** Bytes as they come through the API's JSON: a list, a Node Buffer's JSON, or an index-keyed object. */
export function bytesFromJson(v: unknown): Uint8Array | null {
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  if (typeof v === 'string' && /^[0-9a-f]*$/i.test(v)) return Uint8Array.from(Buffer.from(v, 'hex'));
  if (typeof v === 'object' && v !== null) {
    const o = v as { type?: string; data?: number[] };
    if (o.type === 'Buffer' && Array.isArray(o.data)) return Uint8Array.from(o.data);
    const values = Object.entries(v).sort(([a], [b]) => Number(a) - Number(b));
    if (values.every(([k, x]) => /^\d+$/.test(k) && typeof x === 'number'))
      return Uint8Array.from(values.map(([, x]) => x as number));
  }
  return null;
}

/**
 * What the device itself says it runs (its HELLO, asked with IDENTIFY): the active application
 * slot's version and hash. This is the device's word, not the daemon's record of the update.
 */
export async function runningImage(client: ApiClient, address: number): Promise<RunningImage> {
  const r = await client.request(address, { type: 'identify', body: {} }, 2000);
  if (!r.ok || r.answer?.type !== 'hello')
    throw new Error(`identify ${address}: ${r.error ?? r.answer?.type}`);
  const hello = r.answer.body as {
    firmwareVersion: number[];
    slots: { index: number; version: number[]; flags: number; sha256?: unknown }[];
  };
  const active = hello.slots.find((s) => s.index < 0xf0 && (s.flags & ACTIVE) !== 0);
  const hash = active?.sha256 === undefined ? null : bytesFromJson(active.sha256);
  return {
    version: hello.firmwareVersion.join('.'),
    sha256: hash ? Buffer.from(hash).toString('hex') : null,
    confirmed: active !== undefined && (active.flags & CONFIRMED) !== 0,
  };
}
