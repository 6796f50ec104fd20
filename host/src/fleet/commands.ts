import type { Metric } from './metric.js';
import { REBIRTH } from './sparkplug-node.js';

/**
 * NCMD and DCMD metrics → what to do. Writable metrics (declared in the births, so host applications
 * such as Ignition show them as tags):
 * - NCMD `Node Control/Rebirth` (Boolean true): republish every birth.
 * - NCMD `Node Control/Update` (String, image URL): a campaign over every MCU whose hardware id is the
 *   manifest's.
 * - DCMD `Device Control/Update` (String, image URL): a campaign of that one MCU.
 * With either update, `…/Update Manifest` (String URL) in the same message names the signed manifest;
 * without it the manifest is IMAGE_URL + ".manifest", as `mcubus image sign` names it.
 */
export const NODE_UPDATE = 'Node Control/Update';
export const NODE_UPDATE_MANIFEST = 'Node Control/Update Manifest';
export const DEVICE_UPDATE = 'Device Control/Update';
export const DEVICE_UPDATE_MANIFEST = 'Device Control/Update Manifest';

export type Command =
  | { readonly kind: 'rebirth' }
  | {
      readonly kind: 'update';
      /** A Sparkplug device id, or 'all' (NCMD: every MCU the manifest is for). */
      readonly target: string;
      readonly imageUrl: string;
      readonly manifestUrl: string;
    };

/** A command that cannot be carried out, with a reason code published back (Command/Reason). */
export class CommandError extends Error {
  constructor(
    readonly code:
      | 'bad_command'
      | 'bad_url'
      | 'unknown_device'
      | 'download_failed'
      | 'not_signed'
      | 'untrusted_key'
      | 'bad_signature'
      | 'image_mismatch'
      | 'hardware_mismatch'
      | 'no_target'
      | 'campaign_refused',
    message: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }

  /** The Command/Reason metric's text. */
  get reason(): string {
    return `${this.code}: ${this.message}`;
  }
}

export function parseNodeCommand(metrics: readonly Metric[]): Command {
  const rebirth = metrics.find((m) => m.name === REBIRTH);
  if (rebirth !== undefined) {
    if (rebirth.value !== true) throw new CommandError('bad_command', `${REBIRTH} must be written true`);
    return { kind: 'rebirth' };
  }
  return parseUpdate(metrics, 'all', NODE_UPDATE, NODE_UPDATE_MANIFEST);
}

export function parseDeviceCommand(device: string, metrics: readonly Metric[]): Command {
  return parseUpdate(metrics, device, DEVICE_UPDATE, DEVICE_UPDATE_MANIFEST);
}

function parseUpdate(
  metrics: readonly Metric[],
  target: string,
  name: string,
  manifestName: string,
): Command {
  const image = metrics.find((m) => m.name === name);
  if (image === undefined) {
    const names = metrics.map((m) => `"${m.name}"`).join(', ') || 'none';
    throw new CommandError('bad_command', `no known command metric (got ${names}; expected "${name}")`);
  }
  const imageUrl = httpUrl(image, name);
  const manifest = metrics.find((m) => m.name === manifestName);
  const manifestUrl = manifest === undefined ? `${imageUrl}.manifest` : httpUrl(manifest, manifestName);
  return { kind: 'update', target, imageUrl, manifestUrl };
}

function httpUrl(m: Metric, name: string): string {
  if (typeof m.value !== 'string') throw new CommandError('bad_command', `${name} must be a String (a URL)`);
  let url: URL;
  try {
    url = new URL(m.value);
  } catch {
    throw new CommandError('bad_url', `${name}: "${m.value}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CommandError('bad_url', `${name}: only http and https URLs are fetched, not ${url.protocol}`);
  }
  return url.href;
}
