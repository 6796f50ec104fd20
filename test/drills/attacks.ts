import { generateKeyPairSync, sign as signEd25519 } from 'node:crypto';
import type { ForwardIntercept } from '@mcubus/firmware-sim';
import {
  decodeEnvelope,
  decodeFrame,
  encodeCbor,
  encodeFrame,
  type FrameHeader,
  type Message,
  signedManifestSchema,
} from '@mcubus/protocol';

/**
 * What a compromised gateway does to the update traffic it forwards (test/drills): each builder returns
 * the interceptor the simulated gateway runs on every frame before forwarding it (`Mcu.compromise`). The
 * frames it makes are well formed, with good CRCs: only the device's own checks stand in the way.
 */
type Chunk = Extract<Message, { type: 'update_chunk' }>;
type Begin = Extract<Message, { type: 'update_begin' }>;

/** The frame's message, if it is an `type` frame to `target`. */
function messageOf<T extends Message['type']>(
  bytes: Uint8Array,
  target: number,
  type: T,
): { header: FrameHeader; message: Extract<Message, { type: T }> } | undefined {
  const f = decodeFrame(bytes);
  if (!f.ok || f.value.header.dst !== target || f.value.message.type !== type) return undefined;
  return { header: f.value.header, message: f.value.message as unknown as Extract<Message, { type: T }> };
}

function reframe(h: FrameHeader, message: Message): Uint8Array {
  return encodeFrame(
    {
      dst: h.dst,
      src: h.src,
      seq: h.seq,
      ttl: h.ttl,
      response: h.response,
      retransmit: h.retransmit,
      priority: h.priority,
    },
    message,
  );
}

/** Replaces the UPDATE_BEGIN to `target` with what `swap` makes of it. */
export function rewriteBegin(target: number, swap: (b: Begin['body']) => Begin['body']): ForwardIntercept {
  return (_h, bytes) => {
    const m = messageOf(bytes, target, 'update_begin');
    if (!m) return undefined;
    return [reframe(m.header, { type: 'update_begin', body: swap(m.message.body) })];
  };
}

/** The envelope without its signature (an unsigned manifest: the bytes a signing step would sign). */
export function stripSignature(envelope: Uint8Array): Uint8Array {
  const e = decodeEnvelope(envelope);
  if (!e.ok) throw new Error(`not an envelope: ${e.error.message}`);
  return encodeCbor(new Map([[1, e.value.manifest]]));
}

/** The same manifest, signed again with a key nobody trusts. */
export function resignWithOwnKey(envelope: Uint8Array): Uint8Array {
  const e = decodeEnvelope(envelope);
  if (!e.ok) throw new Error(`not an envelope: ${e.error.message}`);
  const { privateKey } = generateKeyPairSync('ed25519');
  return encodeCbor(
    signedManifestSchema.encode({
      manifest: e.value.manifest,
      signature: new Uint8Array(signEd25519(null, e.value.manifest, privateKey)),
    }),
  );
}

/** Rewrites the data of UPDATE_CHUNKs to `target`: `edit` gets the offset and the data, returns new data. */
export function rewriteChunks(
  target: number,
  edit: (offset: number, data: Uint8Array) => Uint8Array,
): ForwardIntercept {
  return (_h, bytes) => {
    const m = messageOf(bytes, target, 'update_chunk');
    if (!m) return undefined;
    const body: Chunk['body'] = { ...m.message.body, data: edit(m.message.body.offset, m.message.body.data) };
    return [reframe(m.header, { type: 'update_chunk', body })];
  };
}

/**
 * Endless data: after the chunk that ends the image, the gateway sends more — chunks at and past the
 * image's size, and the last chunk again, twice as long — as if the image never ended.
 */
export function appendBeyondEnd(target: number, size: number): ForwardIntercept {
  return (_h, bytes) => {
    const m = messageOf(bytes, target, 'update_chunk');
    if (!m) return undefined;
    const { offset, data, session } = m.message.body;
    if (offset + data.length < size) return undefined;
    const extra = (at: number, d: Uint8Array): Uint8Array =>
      reframe(
        { ...m.header, retransmit: false },
        { type: 'update_chunk', body: { session, offset: at, data: d } },
      );
    return [
      bytes,
      extra(size, new Uint8Array(data.length).fill(0xa5)),
      extra(size + data.length, new Uint8Array(data.length).fill(0x5a)),
      extra(offset, new Uint8Array(data.length * 2).fill(0x33)),
    ];
  };
}

/**
 * Slow retrieval: chunks to `target` are held and let through one every `everyNs`, lowest offset first
 * (a chunk already waiting is not queued twice; at most `keep` wait) — often enough that the host's
 * retransmission timeouts never add up to a failure, far too slowly to finish.
 */
export function dripChunks(
  target: number,
  scheduler: { after(ns: number, fn: () => void): void },
  everyNs: number,
  keep = 32,
): ForwardIntercept {
  const queue = new Map<number, Uint8Array>();
  let timer = false;
  const release = (pass: (b: Uint8Array) => void) => {
    const lowest = Math.min(...queue.keys());
    const next = queue.get(lowest);
    queue.delete(lowest);
    if (next) pass(next);
    if (queue.size > 0) scheduler.after(everyNs, () => release(pass));
    else timer = false;
  };
  return (_h, bytes, pass) => {
    const m = messageOf(bytes, target, 'update_chunk');
    if (!m) return undefined;
    if (queue.size < keep) queue.set(m.message.body.offset, bytes);
    if (!timer) {
      timer = true;
      scheduler.after(everyNs, () => release(pass));
    }
    return [];
  };
}

/** Freeze: the first `passing` chunks to `target` go through, then none does; everything else does. */
export function freezeChunks(target: number, passing: number): ForwardIntercept {
  let passed = 0;
  return (_h, bytes) => {
    if (!messageOf(bytes, target, 'update_chunk')) return undefined;
    return passed++ < passing ? undefined : [];
  };
}
