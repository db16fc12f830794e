// When a lifecycle hook that failed is tried again: exponential backoff from 1 s, capped at 10 min, for
// 24 h after the event was made. After that the event has failed for good.

export const HOOK_RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 10 * 60 * 1000;

/** The wait after the `attempts`-th failed attempt (1-based): 1 s, 2 s, 4 s, … never more than 10 min. */
export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_DELAY_MS * 2 ** Math.max(0, attempts - 1), MAX_DELAY_MS);
}

/**
 * After the `attempts`-th failed attempt at `nowMs`: when to try again, or null when the event's 24 h are
 * up. The last retry is moved forward to the deadline rather than skipped.
 */
export function nextHookAttempt(createdAtMs: number, attempts: number, nowMs: number): number | null {
  const deadline = createdAtMs + HOOK_RETRY_WINDOW_MS;
  if (nowMs >= deadline) return null;
  return Math.min(nowMs + retryDelayMs(attempts), deadline);
}
