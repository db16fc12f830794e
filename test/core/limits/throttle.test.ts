import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admitAttempt,
  afterSuccess,
  CLIENT_POLICY,
  clientKey,
  currentCounter,
  delayAfter,
  TENANT_POLICY,
  type ThrottleCounter,
} from '../../../src/core/limits/throttle';

describe('delayAfter', () => {
  it('is free for the first failures, then doubles from 250 ms up to 8 s', () => {
    const delays = Array.from({ length: 13 }, (_, failures) => delayAfter(failures, CLIENT_POLICY));
    expect(delays).toEqual([0, 0, 0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('stays at the cap for absurd counts', () => {
    expect(delayAfter(10_000, CLIENT_POLICY)).toBe(8000);
  });
});

describe('currentCounter', () => {
  const counter: ThrottleCounter = { failures: 9, nextAt: 1_000, lastAt: 1_000 };

  it('keeps a recent counter', () => {
    expect(currentCounter(counter, 2_000, CLIENT_POLICY)).toBe(counter);
  });

  it('forgets a counter untouched for 15 minutes', () => {
    const later = 1_000 + 15 * 60_000 + 1;
    expect(currentCounter(counter, later, CLIENT_POLICY)).toEqual({
      failures: 0,
      nextAt: later,
      lastAt: later,
    });
  });
});

/** Sequential attempts by one client, each sent as soon as the last was answered: the total wait. */
function sequentialWait(attempts: number): number {
  let counter: ThrottleCounter | undefined;
  let now = 0;
  let total = 0;
  for (let i = 0; i < attempts; i++) {
    const admission = admitAttempt([{ counter, policy: CLIENT_POLICY }], now);
    if (!admission.admitted) throw new Error('a sequential attempt was refused');
    total += admission.waitMs;
    now += admission.waitMs;
    counter = admission.counters[0];
  }
  return total;
}

describe('admitAttempt', () => {
  it('lets five failures through at once, then makes each further attempt wait longer', () => {
    expect(sequentialWait(5)).toBe(0);
    expect(sequentialWait(6)).toBe(250);
    expect(sequentialWait(9)).toBe(250 + 500 + 1000 + 2000);
    // 20 wrong guesses cost more than a minute.
    expect(sequentialWait(20)).toBeGreaterThan(60_000);
  });

  it('spaces concurrent attempts out and refuses those that would wait beyond the cap', () => {
    let counter: ThrottleCounter | undefined;
    const waits: number[] = [];
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      const admission = admitAttempt([{ counter, policy: CLIENT_POLICY }], 0);
      if (admission.admitted) {
        waits.push(admission.waitMs);
        counter = admission.counters[0];
      } else {
        refused++;
        expect(admission.retryAfterMs).toBeGreaterThan(0);
      }
    }
    expect(waits).toEqual([0, 0, 0, 0, 0, 250, 750, 1750, 3750, 7750]);
    expect(refused).toBe(20);
  });

  it('waits for the slower of the client and tenant counters and counts the attempt on both', () => {
    const client: ThrottleCounter = { failures: 5, nextAt: 1_250, lastAt: 1_000 };
    const tenant: ThrottleCounter = { failures: 22, nextAt: 2_000, lastAt: 1_000 };
    const admission = admitAttempt(
      [
        { counter: client, policy: CLIENT_POLICY },
        { counter: tenant, policy: TENANT_POLICY },
      ],
      1_100,
    );
    expect(admission).toEqual({
      admitted: true,
      waitMs: 900,
      counters: [
        { failures: 6, nextAt: 2_500, lastAt: 2_000 },
        { failures: 23, nextAt: 4_000, lastAt: 2_000 },
      ],
    });
  });

  it('never admits an attempt to wait beyond the cap, whatever the counters', () => {
    const counter = fc.record({
      failures: fc.nat(100),
      nextAt: fc.integer({ min: 0, max: 100_000 }),
      lastAt: fc.integer({ min: 0, max: 100_000 }),
    });
    fc.assert(
      fc.property(counter, counter, fc.integer({ min: 0, max: 100_000 }), (client, tenant, now) => {
        const admission = admitAttempt(
          [
            { counter: client, policy: CLIENT_POLICY },
            { counter: tenant, policy: TENANT_POLICY },
          ],
          now,
        );
        if (admission.admitted) expect(admission.waitMs).toBeLessThanOrEqual(CLIENT_POLICY.maxDelayMs);
        else expect(admission.retryAfterMs).toBeGreaterThan(0);
      }),
    );
  });
});

describe('afterSuccess', () => {
  it('takes back the failure counted up front', () => {
    expect(afterSuccess({ failures: 3, nextAt: 5, lastAt: 5 })).toEqual({
      failures: 2,
      nextAt: 5,
      lastAt: 5,
    });
    expect(afterSuccess({ failures: 0, nextAt: 5, lastAt: 5 }).failures).toBe(0);
  });
});

describe('clientKey', () => {
  it('uses an IPv4 address as it is, and "unknown" without one', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey(null)).toBe('unknown');
    expect(clientKey('  ')).toBe('unknown');
  });

  it('groups IPv6 addresses by their /64', () => {
    expect(clientKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:0DB8:0000:0001:ffff:1:2:3')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});
