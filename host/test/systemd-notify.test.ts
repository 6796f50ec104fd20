import { afterEach, describe, expect, it, vi } from 'vitest';
import { SystemdNotifier, watchdogUsec } from '../src/systemd/notify.js';

/** A logger that keeps what it was told, and a send that records each notification. */
function harness(env: NodeJS.ProcessEnv, send?: (s: string) => void) {
  const logged: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => logged.push({ level, obj, msg });
  const sent: string[] = [];
  const notifier = SystemdNotifier.fromEnv({
    env,
    pid: 4242,
    log: { info: at('info'), warn: at('warn'), error: at('error') },
    send: send ?? ((s) => sent.push(s)),
  });
  return { notifier, sent, logged };
}

describe('systemd notifications', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('does nothing without NOTIFY_SOCKET', () => {
    expect(harness({}).notifier).toBeNull();
    expect(harness({ NOTIFY_SOCKET: '' }).notifier).toBeNull();
  });

  it('sends READY=1 with a status, then WATCHDOG=1 every WATCHDOG_USEC/2, then STOPPING=1 and no more', () => {
    vi.useFakeTimers();
    const { notifier, sent } = harness({ NOTIFY_SOCKET: '@mcubus-test', WATCHDOG_USEC: '3000000' });
    expect(notifier!.watchdogUs).toBe(3_000_000);
    notifier!.ready('serving 2 bus(es)');
    expect(sent).toEqual(['READY=1\nSTATUS=serving 2 bus(es)']);
    vi.advanceTimersByTime(1499);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    vi.advanceTimersByTime(1500);
    expect(sent.slice(1)).toEqual(['WATCHDOG=1', 'WATCHDOG=1']);
    notifier!.stopping();
    vi.advanceTimersByTime(10_000);
    expect(sent.slice(3)).toEqual(['STOPPING=1\nSTATUS=stopping']);
    expect(notifier!.counters()).toEqual({ READY: 1, WATCHDOG: 2, STOPPING: 1 });
  });

  it('leaves the watchdog to the process WATCHDOG_PID names', () => {
    vi.useFakeTimers();
    expect(watchdogUsec({ WATCHDOG_USEC: '1000000', WATCHDOG_PID: '4242' }, 4242)).toBe(1_000_000);
    expect(watchdogUsec({ WATCHDOG_USEC: '1000000', WATCHDOG_PID: '17' }, 4242)).toBeUndefined();
    const { notifier, sent } = harness({
      NOTIFY_SOCKET: '/run/n',
      WATCHDOG_USEC: '1000000',
      WATCHDOG_PID: '17',
    });
    notifier!.ready('x');
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual(['READY=1\nSTATUS=x']);
  });

  it('counts and logs a bad WATCHDOG_USEC, and still says READY', () => {
    vi.useFakeTimers();
    for (const bad of ['abc', '0', '-5', '1e6']) {
      const { notifier, sent, logged } = harness({ NOTIFY_SOCKET: '/run/n', WATCHDOG_USEC: bad });
      notifier!.ready('x');
      vi.advanceTimersByTime(60_000);
      expect(sent, bad).toEqual(['READY=1\nSTATUS=x']);
      expect(notifier!.counters().bad_watchdog_usec, bad).toBe(1);
      expect(logged.find((l) => l.level === 'warn')?.msg).toContain(`WATCHDOG_USEC="${bad}"`);
    }
  });

  it('counts a failed send and carries on', () => {
    const { notifier, logged } = harness({ NOTIFY_SOCKET: '/run/n' }, () => {
      throw new Error('ECONNREFUSED');
    });
    notifier!.ready('x');
    notifier!.stopping();
    expect(notifier!.counters()).toEqual({ send_failed: 2 });
    expect(logged.filter((l) => l.level === 'warn').map((l) => l.obj)).toEqual([
      { code: 'send_failed' },
      { code: 'send_failed' },
    ]);
  });
});
