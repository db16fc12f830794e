// When a lifecycle hook that failed is tried again: exponential backoff from 1 s, capped at 10 min, for
// 24 h after the event was made. After that the event has failed for good.

import { WAITS } from './clock';

export const HOOK_RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The first retry's wait and the cap (core/clock's waits; shorter in tests). */
export type HookRetrySteps = { firstMs: number; maxMs: number };
const STEPS: HookRetrySteps = { firstMs: WAITS.hookFirstRetry, maxMs: WAITS.hookMaxRetry };

/** The wait after the `attempts`-th failed attempt (1-based): 1 s, 2 s, 4 s, … never more than 10 min. */
export function retryDelayMs(attempts: number): number {
  return delayWith(attempts, STEPS);
}

function delayWith(attempts: number, steps: HookRetrySteps): number {
  return Math.min(steps.firstMs * 2 ** Math.max(0, attempts - 1), steps.maxMs);
}

/**
 * After the `attempts`-th failed attempt at `nowMs`: when to try again, or null when the event's 24 h are
 * up. The last retry is moved forward to the deadline rather than skipped.
 */
export function nextHookAttempt(
  createdAtMs: number,
  attempts: number,
  nowMs: number,
  steps: HookRetrySteps = STEPS,
): number | null {
  const deadline = createdAtMs + HOOK_RETRY_WINDOW_MS;
  if (nowMs >= deadline) return null;
  return Math.min(nowMs + delayWith(attempts, steps), deadline);
}
