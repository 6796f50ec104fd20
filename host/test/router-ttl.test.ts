import { describe, expect, it } from 'vitest';
import { HostRouter } from '../src/daemon/router.js';

describe('HostRouter', () => {
  it('does not learn from a TTL a line bit error made (TTL is outside the CRC)', () => {
    const r = new HostRouter([], ['uart0']);
    r.learn(0x10, 8, 'uart0', undefined); // the gateway, directly attached
    r.learn(0x20, 7, 'uart0', undefined);
    r.learn(0x21, 7, 'uart0', undefined);
    expect(r.lookup(0x21)).toMatchObject({ via: 0x10, hops: 1 });
    // Soak seed 1 (large board): 7 ^ 0x80 made 0x20 look directly attached, and then 0x21 gatewayless.
    expect(r.learn(0x20, 7 ^ 0x80, 'uart0', undefined)).toBeNull();
    expect(r.learn(0x20, 0, 'uart0', undefined)).toBeNull();
    r.learn(0x21, 7, 'uart0', undefined);
    expect(r.lookup(0x20)).toMatchObject({ via: 0x10, hops: 1 });
    expect(r.lookup(0x21)).toMatchObject({ via: 0x10, hops: 1 });
  });
});
