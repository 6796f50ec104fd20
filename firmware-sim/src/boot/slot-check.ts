import { type Manifest, sha256Digest, verifySignedManifest } from '@mcubus/protocol';
import type { FlashReader } from '../flash/flash.js';
import {
  type FlashLayout,
  type SlotIndex,
  slotCapacity,
  slotImageOffset,
  slotLoadAddress,
  slotRegion,
} from '../flash/layout.js';
import type { SimTime } from '../kernel/scheduler.js';
import type { BootTiming, DeviceConstants } from './device.js';
import { readSlotHeader } from './image-header.js';

/** Why a slot may not be started ('valid' when it may). */
export type SlotStatus =
  | 'valid'
  | 'empty'
  | 'bad_header'
  | 'bad_manifest'
  | 'bad_signature'
  | 'wrong_kind'
  | 'wrong_hardware'
  | 'wrong_address'
  | 'too_large'
  | 'rollback'
  | 'bad_hash';

export interface SlotCheck {
  readonly status: SlotStatus;
  /** The verified manifest (present from the signature check on, even if a later check failed). */
  readonly manifest: Manifest | null;
  /** CPU time this check took: a signature verification, plus hashing the image if it got that far. */
  readonly checkNs: SimTime;
  readonly detail?: string;
}

/**
 * The check every boot stage runs before starting an image, in order of cost: header, signature (the
 * manifest is only interpreted once its signature holds), kind, hardware id, size, link address, security
 * counter, and last the SHA-256 of the image bytes.
 */
export function inspectSlot(
  flash: FlashReader,
  layout: FlashLayout,
  kind: 0 | 1,
  slot: SlotIndex,
  device: DeviceConstants,
  timing: BootTiming,
  minSecurityCounter: number,
): SlotCheck {
  const region = slotRegion(layout, kind, slot);
  const header = readSlotHeader(flash, layout, region);
  if (header.status === 'empty') return { status: 'empty', manifest: null, checkNs: 0 };
  if (header.status === 'bad_header') {
    return { status: 'bad_header', manifest: null, checkNs: 0, detail: header.detail };
  }
  let checkNs = timing.signatureVerifyNs;
  const verified = verifySignedManifest(header.envelope, device.trustedKeys);
  if (!verified.ok) {
    const status =
      verified.error.code === 'bad_cbor' || verified.error.code === 'schema'
        ? 'bad_manifest'
        : 'bad_signature';
    return { status, manifest: null, checkNs, detail: verified.error.message };
  }
  const m = verified.value;
  const fail = (status: SlotStatus, detail: string): SlotCheck => ({ status, manifest: m, checkNs, detail });
  if (m.kind !== kind) return fail('wrong_kind', `manifest kind ${m.kind} in a kind ${kind} slot`);
  if (m.hardwareId !== device.hardwareId) return fail('wrong_hardware', `built for ${m.hardwareId}`);
  if (m.size === 0 || m.size > slotCapacity(layout, region)) return fail('too_large', `size ${m.size}`);
  const load = slotLoadAddress(layout, region);
  if (m.loadAddress !== undefined && m.loadAddress !== load) {
    return fail(
      'wrong_address',
      `linked for 0x${m.loadAddress.toString(16)}, slot runs at 0x${load.toString(16)}`,
    );
  }
  if (m.securityCounter < minSecurityCounter) {
    return fail('rollback', `security counter ${m.securityCounter} < ${minSecurityCounter}`);
  }
  checkNs += m.size * timing.hashNsPerByte;
  const digest = sha256Digest(flash.read(slotImageOffset(layout, region), m.size));
  for (let i = 0; i < 32; i++) if (digest[i] !== m.sha256[i]) return fail('bad_hash', 'image bytes differ');
  return { status: 'valid', manifest: m, checkNs };
}
