import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '@mcubus/host';
import { RigSetupError } from '../errors.js';
import { seededRandom, subSeed } from '../prng.js';
import type { ImageSource } from '../rig/types.js';
import { captureIo } from './capture-io.js';
import { simulatorKey } from './keys.js';

export interface RigImage {
  readonly path: string;
  readonly manifest: string;
  readonly version: string;
  readonly sha256: string;
}

/** The three images the update suite sends a device: two good ones (in turn), one that crashes on boot. */
export interface ImageSet {
  readonly first: RigImage;
  readonly second: RigImage;
  readonly crashing: RigImage;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads a signed image and its manifest envelope (IMAGE.manifest); the version is the manifest's. */
async function fromFile(path: string): Promise<RigImage> {
  const manifest = `${path}.manifest`;
  if (!existsSync(path) || !existsSync(manifest)) {
    throw new RigSetupError(`${path}: the image and its signed manifest (${manifest}) are both needed`);
  }
  const cap = captureIo();
  await runCli(['image', 'inspect', path, '--json'], cap.io);
  let version = '?';
  try {
    version = (JSON.parse(cap.out()) as { version?: string }).version ?? '?';
  } catch {
    // The version is only reported; the daemon checks the image itself.
  }
  return { path, manifest, version, sha256: sha256(readFileSync(path)) };
}

/** Builds and signs an image for `hardwareId` (contents from the seed: distinct per version). */
async function generate(
  dir: string,
  key: string,
  hardwareId: string,
  version: string,
  sizeKiB: number,
  seed: number,
) {
  const path = join(dir, `${hardwareId}-${version}.bin`);
  const random = seededRandom(subSeed(seed, `${hardwareId}:${version}`));
  const bytes = Uint8Array.from({ length: sizeKiB * 1024 }, () => Math.floor(random() * 256));
  writeFileSync(path, bytes);
  const cap = captureIo();
  const args = ['image', 'sign', path, '--key', key, '--hardware-id', hardwareId, '--version', version];
  if ((await runCli(args, cap.io)) !== 0) throw new RigSetupError(`cannot sign ${path}: ${cap.err().trim()}`);
  return { path, manifest: `${path}.manifest`, version, sha256: sha256(bytes) };
}

/** The next minor versions after what the device runs: newer, so no downgrade rule is in the way. */
export function nextVersions(running: string | undefined): [string, string] {
  const [major = 1, minor = 0] = (running ?? '1.0.0').split('.').map(Number);
  return [`${major}.${minor + 1}.0`, `${major}.${minor + 2}.0`];
}

export async function imagesFor(
  source: ImageSource,
  hardwareId: string,
  running: string | undefined,
  work: string,
  seed: number,
): Promise<ImageSet> {
  if (source.kind === 'files') {
    const files = source.byHardwareId.get(hardwareId);
    if (!files) throw new RigSetupError(`update.images.files has no images for hardware id ${hardwareId}`);
    return {
      first: await fromFile(files.first),
      second: await fromFile(files.second),
      crashing: await fromFile(files.crashing),
    };
  }
  const key = source.key === 'simulator' ? (await simulatorKey(work)).privateKey : source.key;
  const dir = join(work, 'images');
  mkdirSync(dir, { recursive: true });
  const [a, b] = nextVersions(running);
  return {
    first: await generate(dir, key, hardwareId, a, source.sizeKiB, seed),
    second: await generate(dir, key, hardwareId, b, source.sizeKiB, seed),
    crashing: await generate(dir, key, hardwareId, source.crashVersion, source.sizeKiB, seed),
  };
}
