import type { KeyObject } from 'node:crypto';
import {
  checkImage,
  decodeEnvelope,
  formatVersion,
  type Manifest,
  SIGNED_MANIFEST_MAX_BYTES,
  verifySignedManifest,
} from '@mcubus/protocol';
import { CommandError } from './commands.js';

/** Largest image fetched: more than any MCU flash this daemon serves, less than a memory problem. */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 60_000;

/**
 * The signed manifest's verdict, before anything else is done with it: the signature must hold with
 * one of the daemon's trusted keys, so nothing from an unsigned or foreign manifest is believed (not
 * even the image size that the image download is checked against).
 */
export function verifyManifest(envelope: Uint8Array, trustedKeys: readonly KeyObject[]): Manifest {
  const parsed = decodeEnvelope(envelope);
  if (!parsed.ok) {
    throw new CommandError(
      'not_signed',
      `the manifest is not a signed manifest envelope (${parsed.error.message})`,
    );
  }
  const verified = verifySignedManifest(envelope, trustedKeys);
  if (!verified.ok) {
    const code = verified.error.code === 'unknown_key' ? 'untrusted_key' : 'bad_signature';
    throw new CommandError(code, verified.error.message);
  }
  return verified.value;
}

/** The image must be the bytes the manifest was signed for. */
export function checkDownloadedImage(manifest: Manifest, image: Uint8Array): void {
  const c = checkImage(manifest, image);
  if (!c.ok) throw new CommandError('image_mismatch', c.error.message);
}

export function describeManifest(m: Manifest): string {
  return `${m.kind === 1 ? 'bootloader' : 'application'} ${formatVersion(m.version)} for ${m.hardwareId}`;
}

/** GET `url` into memory, refusing bodies over `maxBytes` (announced or actual). */
export async function download(url: string, maxBytes: number): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), redirect: 'follow' });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new CommandError('download_failed', `${url}: ${(e as Error).message}${cause ? ` (${cause})` : ''}`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new CommandError('download_failed', `${url}: HTTP ${res.status} ${res.statusText}`);
  }
  const announced = Number(res.headers.get('content-length') ?? Number.NaN);
  if (announced > maxBytes) {
    await res.body?.cancel();
    throw new CommandError('download_failed', `${url}: ${announced} bytes is over the limit of ${maxBytes}`);
  }
  const body = new Uint8Array(await res.arrayBuffer());
  if (body.length > maxBytes) {
    throw new CommandError(
      'download_failed',
      `${url}: ${body.length} bytes is over the limit of ${maxBytes}`,
    );
  }
  return body;
}

export const downloadManifest = (url: string) => download(url, SIGNED_MANIFEST_MAX_BYTES);
