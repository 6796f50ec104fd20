import { describe, expect, it } from 'vitest';
import { realRuntime } from '../src/daemon/runtime.js';
import { kernelStampToMonotonic } from '../src/transports/can/socketcan-media.js';
import { nowUs } from '../src/transports/uart/serial-line.js';

describe('one host clock for stamps and the runtime', () => {
  it("the transports' stamps and the daemon's runtime read the same clock", () => {
    const runtime = realRuntime();
    const a = nowUs();
    const b = runtime.nowUs();
    const c = nowUs();
    expect(b).toBeGreaterThanOrEqual(a);
    expect(b).toBeLessThanOrEqual(c + 1);
  });

  it('moves a SocketCAN kernel timestamp onto the monotonic clock by its age', () => {
    // Wall clock now 1 000 000.000 500 s, the frame was stamped 1 234 µs earlier.
    const wallNow = 1_000_000_000_500;
    expect(kernelStampToMonotonic(999_999, 999_266, wallNow, 50_000)).toBe(50_000 - 1234);
    expect(kernelStampToMonotonic(1_000_000, 0, wallNow, 50_000)).toBe(50_000 - 500);
    // No stamp, a stamp from the future, or one older than a second (wall clock stepped): now.
    expect(kernelStampToMonotonic(undefined, undefined, wallNow, 50_000)).toBe(50_000);
    expect(kernelStampToMonotonic(1_000_001, 0, wallNow, 50_000)).toBe(50_000);
    expect(kernelStampToMonotonic(999_998, 0, wallNow, 50_000)).toBe(50_000);
  });
});
