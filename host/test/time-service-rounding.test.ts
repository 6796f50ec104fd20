import { describe, expect, it } from 'vitest';
import { TimeService } from '../src/time/time-service.js';

/**
 * The time service asks to be woken at a sum (start + timeout, known + wait) and, woken then, must
 * see that instant as reached: `now − start ≥ timeout` can be false there by a rounding error, and the
 * daemon was woken at that instant again and again, for ever (a virtual-time livelock the trace test
 * hit once gateways' implausible maps made nodes wait out the map wait).
 */
describe('time service wake-ups at rounded instants', () => {
  it('a node behind a gateway that sent no map is timed directly when the wait runs out', () => {
    const svc = new TimeService();
    const known = 2_000_000.2444; // + 15 s = 17000000.2444, minus it = 14999999.999999998
    svc.handle({ type: 'device', device: 0x10, counterBits: 64, via: null, rebooted: false }, known);
    svc.handle({ type: 'device', device: 0x21, counterBits: 64, via: 0x10, rebooted: false }, known);
    const at = known + 15_000_000;
    const out = svc.handle({ type: 'tick' }, at);
    expect(out.exchanges.map((x) => x.device)).toContain(0x21);
    expect(out.wakeAt).toBeGreaterThan(at);
  });

  it('an exchange without an answer times out at the instant it asked to be woken', () => {
    const svc = new TimeService();
    const start = 1_000_000.3444; // + 2 s = 3000000.3444, minus it = 1999999.9999999998
    const out = svc.handle(
      { type: 'device', device: 0x10, counterBits: 64, via: null, rebooted: false },
      start,
    );
    expect(out.exchanges).toHaveLength(1);
    expect(out.wakeAt).toBe(start + 2_000_000);
    const woken = svc.handle({ type: 'tick' }, start + 2_000_000);
    expect(svc.snapshot(start + 2_000_000)[0]!.counters.failed).toBe(1);
    expect(woken.wakeAt ?? Number.POSITIVE_INFINITY).toBeGreaterThan(start + 2_000_000);
  });
});
