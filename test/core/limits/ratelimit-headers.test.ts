import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../../src/core/limits/ratelimit-headers';

describe('rateLimitHeaders', () => {
  it('lists every policy and reports the one nearest to exhaustion', () => {
    expect(
      rateLimitHeaders([
        { name: 'day', limit: 10_000, remaining: 9_000, resetSeconds: 3600 },
        { name: 'minute', limit: 100, remaining: 42, resetSeconds: 18 },
      ]),
    ).toEqual({
      'RateLimit-Policy': '"minute";q=100;w=60, "day";q=10000;w=86400',
      RateLimit: '"minute";r=42;t=18',
    });
  });

  it('picks the lowest remaining ratio, not the lowest count', () => {
    const h = rateLimitHeaders([
      { name: 'minute', limit: 100, remaining: 50, resetSeconds: 18 },
      { name: 'day', limit: 1000, remaining: 100, resetSeconds: 3600 },
    ]);
    expect(h?.RateLimit).toBe('"day";r=100;t=3600');
  });

  it('breaks a tie toward the smaller window', () => {
    const h = rateLimitHeaders([
      { name: 'day', limit: 1000, remaining: 0, resetSeconds: 3600 },
      { name: 'minute', limit: 10, remaining: 0, resetSeconds: 5 },
    ]);
    expect(h?.RateLimit).toBe('"minute";r=0;t=5');
  });

  it('never shows a negative or fractional remaining, nor more than the limit', () => {
    expect(
      rateLimitHeaders([{ name: 'minute', limit: 10, remaining: -3, resetSeconds: 1.2 }])?.RateLimit,
    ).toBe('"minute";r=0;t=2');
    expect(
      rateLimitHeaders([{ name: 'minute', limit: 10, remaining: 12.5, resetSeconds: 0 }])?.RateLimit,
    ).toBe('"minute";r=10;t=0');
  });

  it('treats a zero limit as exhausted', () => {
    const h = rateLimitHeaders([
      { name: 'minute', limit: 10, remaining: 1, resetSeconds: 5 },
      { name: 'day', limit: 0, remaining: 0, resetSeconds: 50 },
    ]);
    expect(h?.RateLimit).toBe('"day";r=0;t=50');
  });

  it('sends nothing without a policy', () => {
    expect(rateLimitHeaders([])).toBeNull();
  });
});
