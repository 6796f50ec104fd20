import type { CanFrame } from '@mcubus/protocol';

/** `0x123` for base ids, `0x18DA00F1x` for extended ones (the candump convention is ambiguous in traces). */
export function formatCanId(frame: Pick<CanFrame, 'id' | 'extended'>): string {
  const hex = frame.id.toString(16).toUpperCase();
  return frame.extended ? `0x${hex.padStart(8, '0')}x` : `0x${hex.padStart(3, '0')}`;
}

/** One-line frame description for traces: id, length, FD flags. */
export function describeCanFrame(frame: CanFrame): string {
  const flags = frame.fd ? (frame.brs ? ' fd brs' : ' fd') : '';
  return `id=${formatCanId(frame)} len=${frame.data.length}${flags}`;
}
