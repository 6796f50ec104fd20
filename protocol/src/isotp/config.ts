import { CLASSIC_MAX_LENGTH, FD_MAX_LENGTH, isValidFdLength } from './can-frame.js';
import { DEFAULT_PADDING } from './padding.js';
import { FF_DL_MAX } from './pci.js';
import { decodeStMin, encodeStMin, STMIN_MAX_US } from './stmin.js';

export interface IsoTpTimeouts {
  /** Sender: longest wait for a FC after a FF, after a block, or after FC(wait). Default 1 s. */
  readonly nBsUs?: number;
  /** Receiver: longest wait for the next CF. Default 1 s. */
  readonly nCrUs?: number;
  /** Sender: FC(wait) frames accepted in a row before giving up. Default 10. */
  readonly maxWaitFrames?: number;
}

export interface IsoTpConfig {
  /** Our mcubus node address, 0x00 (host) … 0xFE. */
  readonly address: number;
  /** Send CAN FD frames. Default false. */
  readonly fd?: boolean;
  /** Set the bit-rate switch on the CAN FD frames we send. Default false. */
  readonly brs?: boolean;
  /** TX_DL: data length of the frames we segment into: 8 (classic), or 8..64 valid FD length. */
  readonly frameSize?: number;
  /** Padding byte, or null to send classic frames unpadded. Default 0xCC. */
  readonly padding?: number | null;
  /** BS we advertise as receiver: CFs per FC, 0 = no further FC. Default 0. */
  readonly blockSize?: number;
  /** STmin we advertise as receiver, µs (rounded up to an encodable value). Default 0. */
  readonly stMinUs?: number;
  /** Longest message we accept; a FF announcing more is answered with FC(overflow). Default 65535. */
  readonly maxMessageSize?: number;
  readonly timeouts?: IsoTpTimeouts;
}

export interface ResolvedIsoTpConfig {
  readonly address: number;
  readonly fd: boolean;
  readonly brs: boolean;
  readonly frameSize: number;
  readonly padding: number | null;
  readonly blockSize: number;
  readonly stMinUs: number;
  /** The STmin byte our FCs carry. */
  readonly stMinRaw: number;
  readonly maxMessageSize: number;
  readonly nBsUs: number;
  readonly nCrUs: number;
  readonly maxWaitFrames: number;
}

export const DEFAULT_TIMEOUT_US = 1_000_000;
export const DEFAULT_MAX_WAIT_FRAMES = 10;
export const DEFAULT_MAX_MESSAGE_SIZE = 65_535;

function check(condition: boolean, message: string): void {
  if (!condition) throw new RangeError(`IsoTpNode config: ${message}`);
}

function isByte(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xff;
}

/** Fills in defaults and rejects impossible settings (a configuration bug, so it throws). */
export function resolveConfig(config: IsoTpConfig): ResolvedIsoTpConfig {
  const fd = config.fd ?? false;
  const frameSize = config.frameSize ?? (fd ? FD_MAX_LENGTH : CLASSIC_MAX_LENGTH);
  const padding = config.padding === undefined ? DEFAULT_PADDING : config.padding;
  const blockSize = config.blockSize ?? 0;
  const stMinUs = config.stMinUs ?? 0;
  const maxMessageSize = config.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  const nBsUs = config.timeouts?.nBsUs ?? DEFAULT_TIMEOUT_US;
  const nCrUs = config.timeouts?.nCrUs ?? DEFAULT_TIMEOUT_US;
  const maxWaitFrames = config.timeouts?.maxWaitFrames ?? DEFAULT_MAX_WAIT_FRAMES;

  check(isByte(config.address) && config.address !== 0xff, `address must be 0..254, not ${config.address}`);
  check(
    fd ? isValidFdLength(frameSize) && frameSize >= CLASSIC_MAX_LENGTH : frameSize === CLASSIC_MAX_LENGTH,
    `frameSize ${frameSize} is not valid for ${fd ? 'CAN FD (8, 12, 16, 20, 24, 32, 48, 64)' : 'classic CAN (8)'}`,
  );
  check(padding === null || isByte(padding), `padding must be a byte or null, not ${padding}`);
  check(isByte(blockSize), `blockSize must be 0..255, not ${blockSize}`);
  check(stMinUs >= 0 && stMinUs <= STMIN_MAX_US, `stMinUs must be 0..${STMIN_MAX_US}, not ${stMinUs}`);
  check(
    Number.isInteger(maxMessageSize) && maxMessageSize >= 1 && maxMessageSize <= FF_DL_MAX,
    `maxMessageSize must be 1..${FF_DL_MAX}, not ${maxMessageSize}`,
  );
  check(nBsUs > 0 && nCrUs > 0, 'timeouts must be positive');
  // The gap we ask for must be shorter than our own patience, or every segmented reception times out.
  const stMinRaw = encodeStMin(stMinUs);
  check(decodeStMin(stMinRaw) < nCrUs, `stMinUs ${stMinUs} must be below nCrUs ${nCrUs}`);
  check(Number.isInteger(maxWaitFrames) && maxWaitFrames >= 0, 'maxWaitFrames must be a count');

  return {
    address: config.address,
    fd,
    brs: fd && (config.brs ?? false),
    frameSize,
    padding,
    blockSize,
    stMinUs,
    stMinRaw,
    maxMessageSize,
    nBsUs,
    nCrUs,
    maxWaitFrames,
  };
}
