// Fixed rate-limit windows aligned to UTC. Epoch milliseconds carry no leap seconds, so every UTC day is
// exactly 86 400 000 ms and alignment is plain modular arithmetic.

export type WindowKind = 'minute' | 'day';

const WINDOW_MS: Record<WindowKind, number> = { minute: 60_000, day: 86_400_000 };

export function windowMs(kind: WindowKind): number {
  return WINDOW_MS[kind];
}

export function windowStart(kind: WindowKind, nowMs: number): number {
  const length = WINDOW_MS[kind];
  // Double modulo keeps pre-1970 instants aligned too; JS % takes the sign of the dividend.
  return nowMs - (((nowMs % length) + length) % length);
}

export function windowEnd(kind: WindowKind, nowMs: number): number {
  return windowStart(kind, nowMs) + WINDOW_MS[kind];
}

/** Whole seconds until the window ends, rounded up and never 0 so a client never retries inside it. */
export function retryAfterSeconds(kind: WindowKind, nowMs: number): number {
  return Math.max(1, Math.ceil((windowEnd(kind, nowMs) - nowMs) / 1000));
}

// The last day asked for: every request asks for its day, and nearly all of them ask for the same one.
let lastDay = { start: 0, end: 0, date: '' };

/** UTC calendar date `YYYY-MM-DD`, the key of usage rows. */
export function utcDate(nowMs: number): string {
  if (nowMs >= lastDay.start && nowMs < lastDay.end) return lastDay.date;
  const start = windowStart('day', nowMs);
  lastDay = { start, end: start + WINDOW_MS.day, date: new Date(nowMs).toISOString().slice(0, 10) };
  return lastDay.date;
}
