import { describe, expect, it, test } from 'vitest';
import { HOOK_RETRY_WINDOW_MS, nextHookAttempt, retryDelayMs } from '../../../src/core/time/hook-backoff';

describe('retryDelayMs', () => {
  it('doubles from one second', () => {
    expect([1, 2, 3, 4, 5].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('is capped at ten minutes, however many attempts', () => {
    expect(retryDelayMs(10)).toBe(512_000);
    expect(retryDelayMs(11)).toBe(600_000);
    expect(retryDelayMs(5000)).toBe(600_000);
  });

  it('treats a first attempt of 0 like 1', () => {
    expect(retryDelayMs(0)).toBe(1000);
  });
});

describe('nextHookAttempt', () => {
  const created = Date.UTC(2026, 3, 20, 12);

  it('waits the backoff delay after a failure', () => {
    expect(nextHookAttempt(created, 1, created + 50)).toBe(created + 1050);
    expect(nextHookAttempt(created, 3, created + 10_000)).toBe(created + 14_000);
  });

  it('moves the last retry forward to the 24 h deadline', () => {
    const now = created + HOOK_RETRY_WINDOW_MS - 60_000;
    expect(nextHookAttempt(created, 40, now)).toBe(created + HOOK_RETRY_WINDOW_MS);
  });

  it('gives up once 24 h have passed since the event was made', () => {
    expect(nextHookAttempt(created, 40, created + HOOK_RETRY_WINDOW_MS)).toBeNull();
    expect(nextHookAttempt(created, 1, created + HOOK_RETRY_WINDOW_MS + 1)).toBeNull();
  });

  it('retries about 150 times in the 24 h of a receiver that stays down', () => {
    let now = created;
    let attempts = 0;
    for (;;) {
      attempts++;
      const next = nextHookAttempt(created, attempts, now);
      if (next === null) break;
      expect(next).toBeGreaterThan(now);
      now = next;
    }
    // 1 s … 512 s (10 attempts, about 17 min), then every 10 min for the rest of the day.
    expect(attempts).toBeGreaterThan(140);
    expect(attempts).toBeLessThan(160);
  });
});

describe('nextHookAttempt with shorter steps (tests scale the waits, core/clock)', () => {
  test('doubles from the given first wait up to the given cap, still bounded by the 24 h', () => {
    const created = Date.UTC(2026, 0, 1);
    const steps = { firstMs: 250, maxMs: 150_000 };
    expect([1, 2, 3].map((a) => (nextHookAttempt(created, a, created, steps) ?? 0) - created)).toEqual([
      250, 500, 1000,
    ]);
    expect((nextHookAttempt(created, 30, created, steps) ?? 0) - created).toBe(150_000);
    expect(nextHookAttempt(created, 1, created + HOOK_RETRY_WINDOW_MS, steps)).toBeNull();
  });
});
