import { type CodedError, codedError, err, ok, type Result } from '../result.js';

/**
 * CAN identifiers of mcubus ISO-TP traffic: 29-bit ids in the ISO 15765-2 "normal fixed addressing"
 * layout, so that generic CAN tools decode them and one acceptance filter (PF 0xDA/0xDB) selects them.
 *
 *   bits 28..26  CAN priority (0 = wins arbitration)
 *   bits 25..24  0 (reserved / data page)
 *   bits 23..16  PF: 0xDA physical (one target), 0xDB functional (broadcast)
 *   bits 15..8   target address
 *   bits  7..0   source address
 */

/** mcubus frame priority: 0 = most urgent … 3 = bulk. */
export type FramePriority = 0 | 1 | 2 | 3;

export const PF_PHYSICAL = 0xda;
export const PF_FUNCTIONAL = 0xdb;
export const BROADCAST_ADDRESS = 0xff;
export const HOST_ADDRESS = 0x00;

/**
 * CAN priority (3 bits) for each frame priority. Spread out rather than 0..3 so the most urgent
 * traffic still leaves room above it (0..2) for anything that must beat mcubus on a shared bus, and
 * so the common priority 2 gives the familiar 0x18DA.... diagnostic ids.
 */
export const CAN_PRIORITY_TABLE: readonly [number, number, number, number] = [3, 4, 6, 7];

export type CanIdErrorCode = 'standard_id' | 'invalid_id' | 'foreign_id';

export interface ParsedCanId {
  /** The 3-bit CAN priority found in the id (kept raw: replies reuse it). */
  readonly canPriority: number;
  /** The frame priority it stands for (see framePriorityFor). */
  readonly priority: FramePriority;
  readonly functional: boolean;
  readonly target: number;
  readonly source: number;
}

export function canPriorityFor(framePriority: FramePriority): number {
  const canPriority = CAN_PRIORITY_TABLE[framePriority];
  if (canPriority === undefined) throw new RangeError(`frame priority must be 0..3, not ${framePriority}`);
  return canPriority;
}

/**
 * Frame priority of a received CAN priority: the most urgent frame priority whose CAN priority is not
 * more urgent than the one received (0..3 → 0, 4 → 1, 5..6 → 2, 7 → 3). Total so that ids built by
 * other tools with unlisted CAN priorities are still accepted.
 */
export function framePriorityFor(canPriority: number): FramePriority {
  if (canPriority <= 3) return 0;
  if (canPriority === 4) return 1;
  if (canPriority <= 6) return 2;
  return 3;
}

function checkAddress(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) {
    throw new RangeError(`${name} address must be 0..255, not ${value}`);
  }
}

/** Builds an id from a raw CAN priority (used to answer on the priority a peer chose). */
export function composeCanId(parts: {
  canPriority: number;
  functional: boolean;
  target: number;
  source: number;
}): number {
  const { canPriority, functional, target, source } = parts;
  if (!Number.isInteger(canPriority) || canPriority < 0 || canPriority > 7) {
    throw new RangeError(`CAN priority must be 0..7, not ${canPriority}`);
  }
  checkAddress('target', target);
  checkAddress('source', source);
  if (functional && target !== BROADCAST_ADDRESS) {
    throw new RangeError(`functional ids target 0xFF, not ${target}`);
  }
  const pf = functional ? PF_FUNCTIONAL : PF_PHYSICAL;
  return ((canPriority << 26) | (pf << 16) | (target << 8) | source) >>> 0;
}

/** The 29-bit id of a frame from `source` to `target` at an mcubus frame priority. */
export function canIdFor(parts: {
  priority: FramePriority;
  target: number;
  source: number;
  functional?: boolean;
}): number {
  return composeCanId({
    canPriority: canPriorityFor(parts.priority),
    functional: parts.functional ?? false,
    target: parts.target,
    source: parts.source,
  });
}

/** Parses an id; anything outside the scheme above is an error, not an exception. */
export function parseCanId(id: number, extended = true): Result<ParsedCanId, CodedError<CanIdErrorCode>> {
  if (!Number.isInteger(id) || id < 0 || id > 0x1fffffff) {
    return err(codedError('invalid_id', `${id} is not a 29-bit CAN id`));
  }
  if (!extended) return err(codedError('standard_id', `11-bit id 0x${id.toString(16)} is not ISO-TP mcubus`));
  const pf = (id >>> 16) & 0xff;
  if ((id >>> 24) & 0x3 || (pf !== PF_PHYSICAL && pf !== PF_FUNCTIONAL)) {
    return err(codedError('foreign_id', `id 0x${id.toString(16)} is not in the mcubus ISO-TP id scheme`));
  }
  const canPriority = (id >>> 26) & 0x7;
  return ok({
    canPriority,
    priority: framePriorityFor(canPriority),
    functional: pf === PF_FUNCTIONAL,
    target: (id >>> 8) & 0xff,
    source: id & 0xff,
  });
}
