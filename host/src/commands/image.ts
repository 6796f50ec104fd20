import { existsSync, writeFileSync } from 'node:fs';
import { SIM_SIGNING_KEY } from '@mcubus/firmware-sim';
import {
  decodeEnvelope,
  decodeManifest,
  formatVersion,
  keyIdOf,
  type Manifest,
  sha256Digest,
  signManifest,
  verifySignedManifest,
} from '@mcubus/protocol';
import {
  ImageFileError,
  manifestPathFor,
  newKeyPairPem,
  readImageFile,
  readManifestFile,
  readPrivateKey,
  readPublicKey,
} from '../update/image-files.js';
import { isMcuboot, McubootError, parseMcuboot, TLV, verifyMcubootEd25519 } from '../update/mcuboot.js';

export interface ImageCommandOptions {
  readonly key?: string;
  readonly hardwareId?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly securityCounter?: string;
  readonly out?: string;
  readonly manifest?: string;
  readonly loadAddress?: string;
  readonly force?: boolean;
  readonly json?: boolean;
  /** keygen: write the simulated board's fixed key instead of a new one (try updates on the simulator). */
  readonly simulator?: boolean;
}

type Io = { out(s: string): void; err(s: string): void };

/**
 * `mcubus image keygen|sign|inspect` (docs/updates.md): Ed25519 keys in PEM, a signed manifest
 * next to an image, and a look at both. Local: no daemon needed. Returns the exit status.
 */
export function imageCommand(args: readonly string[], o: ImageCommandOptions, io: Io): number {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'keygen':
        return keygen(rest, o, io);
      case 'sign':
        return signImage(rest, o, io);
      case 'inspect':
        return inspect(rest, o, io);
      default:
        io.err(`mcubus image: expected keygen, sign or inspect${sub ? `, not "${sub}"` : ''}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof ImageFileError) {
      io.err(`mcubus image ${sub}: ${e.message}`);
      return 1;
    }
    if (e instanceof UsageProblem) {
      io.err(`mcubus image ${sub}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}

class UsageProblem extends Error {}

function parseMcubootOrUsage(image: Uint8Array, path: string) {
  try {
    return parseMcuboot(image);
  } catch (e) {
    if (e instanceof McubootError) throw new ImageFileError('bad_mcuboot', path, e.message);
    throw e;
  }
}

function keygen(rest: readonly string[], o: ImageCommandOptions, io: Io): number {
  const out = o.out ?? rest[0];
  if (!out) throw new UsageProblem('give the private key file: mcubus image keygen --out KEY.pem');
  const pub = `${out.replace(/\.pem$/, '')}.pub.pem`;
  for (const p of [out, pub])
    if (existsSync(p) && !o.force) throw new UsageProblem(`${p} exists; --force overwrites it`);
  const { privatePem, publicPem } = o.simulator
    ? {
        privatePem: SIM_SIGNING_KEY.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        publicPem: SIM_SIGNING_KEY.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      }
    : newKeyPairPem();
  writeFileSync(out, privatePem, { mode: 0o600 });
  writeFileSync(pub, publicPem);
  io.out(`wrote ${out} (private, mode 600) and ${pub} (public: give it to the daemon as a trusted key)`);
  return 0;
}

function parseVersion(text: string | undefined): number[] {
  if (!text || !/^\d+\.\d+\.\d+(\.\d+)?$/.test(text))
    throw new UsageProblem('--version must be MAJOR.MINOR.PATCH[.BUILD]');
  const v = text.split('.').map(Number);
  if (v.some((x) => x > 0xffffffff)) throw new UsageProblem('--version parts must fit 32 bits');
  return v;
}

function signImage(rest: readonly string[], o: ImageCommandOptions, io: Io): number {
  const path = rest[0];
  if (!path)
    throw new UsageProblem(
      'give the image: mcubus image sign IMAGE --key KEY.pem --hardware-id ID --version X.Y.Z',
    );
  if (!o.key) throw new UsageProblem('--key KEY.pem is required');
  if (!o.hardwareId) throw new UsageProblem("--hardware-id is required (the devices' HELLO hardwareId)");
  const kind = o.kind === undefined || o.kind === 'app' ? 0 : o.kind === 'bootloader' ? 1 : null;
  if (kind === null) throw new UsageProblem('--kind must be app or bootloader');
  const counter = o.securityCounter === undefined ? 0 : Number(o.securityCounter);
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff)
    throw new UsageProblem('--security-counter must be an integer 0–4294967295');
  const load = o.loadAddress === undefined ? undefined : Number(o.loadAddress);
  if (load !== undefined && (!Number.isInteger(load) || load < 0 || load > 0xffffffff))
    throw new UsageProblem('--load-address must be an address (decimal or 0x hex)');
  const image = readImageFile(path);
  const key = readPrivateKey(o.key);
  // An MCUboot image (imgtool) carries its version and hash: take the version from it, and refuse
  // one whose bytes do not match its own hash. The whole file goes into the slot.
  let version: number[];
  if (isMcuboot(image)) {
    const mb = parseMcubootOrUsage(image, path);
    if (!mb.hash || !Buffer.from(mb.hash).equals(Buffer.from(mb.computedHash)))
      throw new ImageFileError('bad_mcuboot', path, 'the MCUboot image does not match its own SHA-256 TLV');
    version = o.version
      ? parseVersion(o.version)
      : mb.version[3] === 0
        ? mb.version.slice(0, 3)
        : [...mb.version];
  } else version = parseVersion(o.version);
  const manifest: Manifest = {
    hardwareId: o.hardwareId,
    kind,
    version,
    securityCounter: counter,
    sha256: sha256Digest(image),
    size: image.length,
    ...(load !== undefined ? { loadAddress: load } : {}),
  };
  const envelope = signManifest(manifest, key);
  const out = o.out ?? manifestPathFor(path);
  writeFileSync(out, envelope);
  io.out(
    `signed ${path}: ${o.hardwareId} ${kind === 1 ? 'bootloader' : 'app'} ${formatVersion(manifest.version)}, ` +
      `counter ${counter}, ${image.length} bytes, key ${Buffer.from(keyIdOf(key)).toString('hex')} → ${out}`,
  );
  return 0;
}

function inspect(rest: readonly string[], o: ImageCommandOptions, io: Io): number {
  const path = rest[0];
  if (!path)
    throw new UsageProblem('give the image: mcubus image inspect IMAGE [--manifest M] [--key PUB.pem]');
  const image = readImageFile(path);
  const mpath = o.manifest ?? manifestPathFor(path);
  // Anything checked and found wrong makes the exit status 1.
  let mcubootOk = true;
  if (isMcuboot(image)) {
    const mb = parseMcubootOrUsage(image, path);
    const hashOk = mb.hash !== null && Buffer.from(mb.hash).equals(Buffer.from(mb.computedHash));
    const sig = mb.tlvs.some((t) => t.type === TLV.ed25519)
      ? o.key
        ? verifyMcubootEd25519(mb, readPublicKey(o.key))
          ? 'valid (Ed25519)'
          : 'INVALID (Ed25519)'
        : 'Ed25519, not checked (give --key PUB.pem)'
      : 'none that mcubus checks (only Ed25519)';
    io.out(
      [
        [
          'MCUboot',
          `version ${mb.version.slice(0, 3).join('.')}+${mb.version[3]}, ${mb.imageSize} bytes after a ${mb.headerSize}-byte header, load 0x${mb.loadAddress.toString(16)}`,
        ],
        ['MCUboot hash', hashOk ? 'matches the image' : 'DOES NOT match the image'],
        ['MCUboot sig', sig],
      ]
        .map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`)
        .join('\n'),
    );
    mcubootOk = hashOk && !sig.startsWith('INVALID');
    if (!existsSync(mpath)) return mcubootOk ? 0 : 1;
  }
  const envelope = readManifestFile(mpath);
  const env = decodeEnvelope(envelope);
  if (!env.ok) {
    io.err(`mcubus image inspect: ${mpath}: ${env.error.message}`);
    return 1;
  }
  const m = decodeManifest(env.value.manifest);
  if (!m.ok) {
    io.err(`mcubus image inspect: ${mpath}: ${m.error.message}`);
    return 1;
  }
  const hash = sha256Digest(image);
  const hashOk = Buffer.from(hash).equals(Buffer.from(m.value.sha256)) && image.length === m.value.size;
  let signature = 'not checked (give --key PUB.pem)';
  let sigOk = true;
  if (o.key) {
    const v = verifySignedManifest(envelope, [readPublicKey(o.key)]);
    sigOk = v.ok;
    signature = v.ok ? 'valid' : `INVALID: ${v.error.message}`;
  }
  const view = {
    image: path,
    manifest: mpath,
    hardwareId: m.value.hardwareId,
    kind: m.value.kind === 1 ? 'bootloader' : 'app',
    version: formatVersion(m.value.version),
    securityCounter: m.value.securityCounter,
    size: m.value.size,
    sha256: Buffer.from(m.value.sha256).toString('hex'),
    ...(m.value.loadAddress !== undefined ? { loadAddress: m.value.loadAddress } : {}),
    keyId: env.value.keyId ? Buffer.from(env.value.keyId).toString('hex') : null,
    imageMatches: hashOk,
    signature,
  };
  if (o.json) io.out(JSON.stringify(view, null, 2));
  else
    io.out(
      [
        ['hardware id', view.hardwareId],
        ['kind', view.kind],
        ['version', view.version],
        ['counter', String(view.securityCounter)],
        ['size', `${view.size} bytes`],
        ['sha256', view.sha256],
        ...(view.loadAddress !== undefined ? [['load at', `0x${view.loadAddress.toString(16)}`]] : []),
        ['key id', view.keyId ?? '-'],
        ['image', hashOk ? 'matches the manifest' : 'DOES NOT match the manifest (size or hash)'],
        ['signature', signature],
      ]
        .map(([k, v]) => `${`${k}:`.padEnd(13)}${v}`)
        .join('\n'),
    );
  return hashOk && sigOk && mcubootOk ? 0 : 1;
}
