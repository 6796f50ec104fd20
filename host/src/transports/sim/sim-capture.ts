import type { ByteEndpoint, CanPort, Sim } from '@mcubus/firmware-sim';
import { MAX_FRAME_SIZE } from '@mcubus/protocol';
import type { CaptureTap } from '../capture-tap.js';
import { UartCaptureSplitter } from '../uart/uart-capture.js';

/**
 * Capture taps of the simulated host ports, on the simulator's clock (the daemon's runtime there).
 * Received packets are stamped when their last byte or bit arrived, sent ones when they are handed to
 * the line (the convention of libpcap, and of the real adapters). Stamps are the true wire times, without the host-latency jitter the frames' rxUs get: drawing
 * jitter for captures would move the jitter generator and make a run with a capture differ from one
 * without.
 */

/**
 * The host's UART endpoint with its writes and receptions reported to `tap`; the carriage is built on
 * the returned endpoint, the simulated line itself is untouched.
 */
export function tapUartEndpoint(endpoint: ByteEndpoint, sim: Sim, tap: CaptureTap): ByteEndpoint {
  const charUs = endpoint.byteTimeNs / 1000;
  const splitter = new UartCaptureSplitter(MAX_FRAME_SIZE, charUs);
  let listening = false;
  /** Whether the last byte received was a delimiter: a capture starting now starts on a piece boundary. */
  let atBoundary = true;
  endpoint.onReceive((bytes, atNs) => {
    const boundary = atBoundary;
    atBoundary = bytes.length === 0 ? atBoundary : bytes[bytes.length - 1] === 0;
    if (!tap.active) {
      listening = false;
      return;
    }
    // A capture that starts mid-piece skips to the next delimiter rather than show a torn piece.
    if (!listening) {
      if (boundary) splitter.reset();
      else splitter.resync();
    }
    listening = true;
    for (const p of splitter.push(bytes, atNs / 1000)) {
      tap.emit({
        link: 'uart',
        direction: 'in',
        atUs: Math.round(p.endUs),
        bytes: p.bytes,
        ...(p.originalLength !== p.bytes.length ? { originalLength: p.originalLength } : {}),
        ...(p.error !== undefined ? { error: p.error } : {}),
      });
    }
  });
  return {
    name: endpoint.name,
    get txIdleAt() {
      return endpoint.txIdleAt;
    },
    get byteTimeNs() {
      return endpoint.byteTimeNs;
    },
    onReceive: (listener) => endpoint.onReceive(listener),
    write(bytes) {
      if (tap.active) tap.emit({ link: 'uart', direction: 'out', atUs: sim.now / 1000, bytes });
      endpoint.write(bytes);
    },
  };
}

/**
 * Every frame the host's CAN controller sees or sends: received frames stamped at their end, ours at
 * their start of frame (reported once sent: arbitration decides when it starts).
 */
export function tapCanPort(port: CanPort, tap: CaptureTap): void {
  port.onFrame((frame, atNs) => {
    if (tap.active) tap.emit({ link: 'can', direction: 'in', atUs: Math.round(atNs / 1000), frame });
  });
  port.onTxComplete((frame, _atNs, startNs) => {
    if (tap.active) tap.emit({ link: 'can', direction: 'out', atUs: Math.round(startNs / 1000), frame });
  });
}
