import { describe, expect, it } from 'vitest';
import {
  retryAfterSeconds,
  utcDate,
  windowEnd,
  windowMs,
  windowStart,
} from '../../../src/core/limits/windows';

const at = (iso: string) => Date.parse(iso);

describe('windows', () => {
  it('aligns minutes to the calendar minute', () => {
    expect(windowStart('minute', at('2024-03-05T10:20:30.500Z'))).toBe(at('2024-03-05T10:20:00Z'));
    expect(windowEnd('minute', at('2024-03-05T10:20:30.500Z'))).toBe(at('2024-03-05T10:21:00Z'));
  });

  it('puts the boundary instant in the new window', () => {
    expect(windowStart('minute', at('2024-03-05T10:21:00Z'))).toBe(at('2024-03-05T10:21:00Z'));
    expect(windowStart('day', at('2024-03-06T00:00:00Z'))).toBe(at('2024-03-06T00:00:00Z'));
    expect(windowEnd('day', at('2024-03-06T00:00:00Z'))).toBe(at('2024-03-07T00:00:00Z'));
  });

  it('ends the day at the next UTC midnight', () => {
    const t = at('2024-12-31T23:59:59.999Z');
    expect(windowStart('day', t)).toBe(at('2024-12-31T00:00:00Z'));
    expect(windowEnd('day', t)).toBe(at('2025-01-01T00:00:00Z'));
    expect(windowEnd('minute', t)).toBe(at('2025-01-01T00:00:00Z'));
  });

  it('handles a leap day', () => {
    expect(windowEnd('day', at('2024-02-28T12:00:00Z'))).toBe(at('2024-02-29T00:00:00Z'));
    expect(windowEnd('day', at('2024-02-29T12:00:00Z'))).toBe(at('2024-03-01T00:00:00Z'));
  });

  it('aligns instants before 1970', () => {
    expect(windowStart('day', at('1969-12-31T12:00:00Z'))).toBe(at('1969-12-31T00:00:00Z'));
  });

  it('gives window lengths', () => {
    expect(windowMs('minute')).toBe(60_000);
    expect(windowMs('day')).toBe(86_400_000);
  });

  it('rounds Retry-After up to whole seconds, at least 1', () => {
    expect(retryAfterSeconds('minute', at('2024-03-05T10:20:42Z'))).toBe(18);
    expect(retryAfterSeconds('minute', at('2024-03-05T10:20:42.001Z'))).toBe(18);
    expect(retryAfterSeconds('minute', at('2024-03-05T10:20:41.999Z'))).toBe(19);
    expect(retryAfterSeconds('minute', at('2024-03-05T10:20:59.999Z'))).toBe(1);
    expect(retryAfterSeconds('minute', at('2024-03-05T10:20:00Z'))).toBe(60);
    expect(retryAfterSeconds('day', at('2024-03-05T23:59:59.999Z'))).toBe(1);
    expect(retryAfterSeconds('day', at('2024-03-05T00:00:00Z'))).toBe(86_400);
  });

  it('formats the UTC date', () => {
    expect(utcDate(at('2024-03-05T23:59:59.999Z'))).toBe('2024-03-05');
    expect(utcDate(at('2024-03-06T00:00:00Z'))).toBe('2024-03-06');
  });

  it('answers the remembered day only inside it, whichever way time moves', () => {
    expect(utcDate(at('2024-03-06T12:00:00Z'))).toBe('2024-03-06');
    expect(utcDate(at('2024-03-06T23:59:59.999Z'))).toBe('2024-03-06');
    expect(utcDate(at('2024-03-07T00:00:00Z'))).toBe('2024-03-07');
    expect(utcDate(at('2024-03-06T23:59:59.999Z'))).toBe('2024-03-06');
    expect(utcDate(at('1969-12-31T23:00:00Z'))).toBe('1969-12-31');
    expect(utcDate(at('1970-01-01T00:00:00Z'))).toBe('1970-01-01');
  });
});
