// Back-off for guessing secrets (install tokens, console passwords): after a few failures each further
// attempt waits before it is checked, twice as long each time up to a cap. Attempts are spaced out, not just
// delayed, so firing many at once does not get around the wait: each one takes the next free slot.

import { WAITS } from '../time/clock';

export type ThrottlePolicy = {
  /** Failures allowed before attempts start to wait. */
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A counter nobody touched for this long starts again from zero. */
  forgetAfterMs: number;
};

/** One client's (or one tenant's) failures; `nextAt` is when its next attempt may be checked. */
export type ThrottleCounter = { failures: number; nextAt: number; lastAt: number };

export const CLIENT_POLICY: ThrottlePolicy = {
  freeFailures: 5,
  baseDelayMs: WAITS.throttleBaseDelay,
  maxDelayMs: WAITS.throttleMaxDelay,
  forgetAfterMs: WAITS.throttleForgetAfter,
};

// Shared by every client of a tenant, so a guesser spread over many addresses is slowed down too; more
// free failures, so that one careless client does not slow the tenant's other admins.
export const TENANT_POLICY: ThrottlePolicy = { ...CLIENT_POLICY, freeFailures: 20 };

/** How long the attempt after `failures` failures waits: 0, then base, 2 × base, … up to the cap. */
export function delayAfter(failures: number, policy: ThrottlePolicy): number {
  if (failures < policy.freeFailures) return 0;
  const doublings = Math.min(failures - policy.freeFailures, 30);
  return Math.min(policy.baseDelayMs * 2 ** doublings, policy.maxDelayMs);
}

/** The counter as it stands at `now`: zero once forgotten. */
export function currentCounter(
  counter: ThrottleCounter | undefined,
  now: number,
  policy: ThrottlePolicy,
): ThrottleCounter {
  if (!counter || (now - counter.lastAt > policy.forgetAfterMs && now >= counter.nextAt)) {
    return { failures: 0, nextAt: now, lastAt: now };
  }
  return counter;
}

export type Admission =
  | { admitted: true; waitMs: number; counters: ThrottleCounter[] }
  | { admitted: false; retryAfterMs: number };

/**
 * Admits one attempt against several counters at once (client and tenant). The attempt is counted as a
 * failure up front, so concurrent attempts cannot all slip in before any failure is recorded; a success
 * takes it back (`afterSuccess`). An attempt that would wait longer than the cap (only when many arrive at
 * once) is refused without taking a slot.
 */
export function admitAttempt(
  entries: { counter: ThrottleCounter | undefined; policy: ThrottlePolicy }[],
  now: number,
): Admission {
  const current = entries.map((e) => currentCounter(e.counter, now, e.policy));
  const at = Math.max(now, ...current.map((c) => c.nextAt));
  const cap = Math.max(...entries.map((e) => e.policy.maxDelayMs));
  if (at - now > cap) return { admitted: false, retryAfterMs: at - now - cap };
  const counters = current.map((c, i) => {
    const failures = c.failures + 1;
    return { failures, nextAt: at + delayAfter(failures, entries[i].policy), lastAt: at };
  });
  return { admitted: true, waitMs: at - now, counters };
}

/** A shared counter after a success: the failure counted up front is taken back. */
export function afterSuccess(counter: ThrottleCounter): ThrottleCounter {
  return { ...counter, failures: Math.max(0, counter.failures - 1) };
}

/**
 * Whose failures these are: the client address, IPv6 by its /64 (one host usually holds a whole /64, so
 * counting single addresses would let it rotate freely).
 */
export function clientKey(address: string | null | undefined): string {
  const ip = address?.trim().toLowerCase();
  if (!ip) return 'unknown';
  if (!ip.includes(':')) return ip;
  const [head, tail] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = ip.includes('::') ? 8 - left.length - right.length : 0;
  const groups = [...left, ...Array<string>(Math.max(missing, 0)).fill('0'), ...right];
  if (groups.length < 4 || !groups.slice(0, 4).every((g) => /^[0-9a-f]{1,4}$/.test(g))) return ip;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
