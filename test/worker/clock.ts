// The gateway's clock as the workerd tests move it (src/core/time/clock). The test shares the worker's
// modules, so moving `now()` here moves it for the data plane, the control plane and the Durable Objects
// alike.
import { env } from 'cloudflare:workers';
import { delayAfter, type ThrottlePolicy } from '../../src/core/limits/throttle';
import {
  advanceClock,
  clockOffset,
  configureClock,
  now,
  type WaitName,
  waitMs,
} from '../../src/core/time/clock';
import { throttlePolicies } from '../../src/gate/auth-throttle';

export { advanceClock, clockOffset, now };

/** A wait of the gateway as this run has it (GATEWAY_TIME_SCALE shrinks them in tests). */
export function gatewayWait(name: WaitName): number {
  configureClock(env);
  return waitMs(name);
}

/**
 * Per-minute windows are UTC-aligned: a test that counts in one must not straddle two. With fewer than
 * `needMs` left in this minute, the clock moves to the start of the next one instead of waiting for it.
 */
export function awayFromMinuteEnd(needMs = 8_000): void {
  const left = 60_000 - (now() % 60_000);
  if (left < needMs) advanceClock(left + 50);
}

/**
 * Moves the clock to `leadMs` before the next minute boundary that is at least that far away, and answers
 * the boundary (clock time): a case about a boundary starts a few seconds before one.
 */
export function toBeforeMinuteBoundary(leadMs: number): number {
  const boundary = Math.ceil((now() + leadMs) / 60_000) * 60_000;
  advanceClock(boundary - leadMs - now());
  return boundary;
}

/** The install-token and sign-in back-off policies as this run has them. */
export function gatewayThrottle() {
  configureClock(env);
  return throttlePolicies();
}

/** How long attempts `from` … `from + count - 1` (counted in failures so far) wait under `policy`. */
export function throttleWaits(policy: ThrottlePolicy, from: number, count: number): number {
  let total = 0;
  for (let failures = from; failures < from + count; failures++) total += delayAfter(failures, policy);
  return total;
}
