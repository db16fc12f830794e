import { describe, expect, it } from 'vitest';
import {
  chartDay,
  chartGeometry,
  fillDays,
  fromFirstTraffic,
  lastDays,
  niceMax,
  SERIES,
  type UsageDay,
} from '../../../src/core/usage/usage-chart';
import { emptyUsage } from '../../../src/core/usage/usage-counts';
import { requestUsage } from '../../../src/core/usage/usage-outcome';

const day = (date: string, values: Partial<UsageDay>): UsageDay => ({
  ...fillDays([date], [])[0],
  ...values,
});

describe('lastDays', () => {
  it('lists the UTC dates ending today, oldest first', () => {
    const now = Date.parse('2026-03-02T23:59:59Z');
    expect(lastDays(now, 3)).toEqual(['2026-02-28', '2026-03-01', '2026-03-02']);
    expect(lastDays(now, 30)).toHaveLength(30);
    expect(lastDays(now, 30)[0]).toBe('2026-02-01');
  });
});

describe('chartDay', () => {
  it('puts each outcome of a known mix in its own series, and every request in one', () => {
    const counts = emptyUsage();
    const add = (c: Partial<typeof counts>) => {
      for (const [k, v] of Object.entries(c)) counts[k as keyof typeof counts] += v;
    };
    add(requestUsage(200, { admitted: true, fromBackend: true }));
    add(requestUsage(200, { admitted: true, fromBackend: true }));
    add(requestUsage(401, { admitted: false, code: 'missing_api_key' }));
    add(requestUsage(429, { admitted: false, code: 'rate_limited' }));
    add(requestUsage(429, { admitted: false, code: 'quota_exceeded' }));
    add(requestUsage(404, { admitted: true, fromBackend: true }));
    add(requestUsage(502, { admitted: true, fromBackend: true }));
    // A dead upstream: the gateway's own 502, admitted by the limiter, never "allowed".
    add(requestUsage(502, { admitted: true, code: 'upstream_unavailable' }));
    add(requestUsage(403, { admitted: false, code: 'tenant_suspended' }));
    const d = chartDay('2026-03-01', counts);
    expect(d).toEqual({
      date: '2026-03-01',
      requests: 9,
      allowed: 2,
      rate_limited: 2,
      unauthorized: 1,
      backend_4xx: 1,
      backend_5xx: 1,
      gateway_errors: 2,
    });
    expect(SERIES.reduce((sum, s) => sum + d[s], 0)).toBe(d.requests);
  });
});

describe('fromFirstTraffic', () => {
  const dates = lastDays(Date.parse('2026-03-30T12:00:00Z'), 30);
  it('starts a week before the end when only the last day has traffic', () => {
    const days = fillDays(dates, [day(dates[29], { requests: 5, allowed: 5 })]);
    const shown = fromFirstTraffic(days);
    expect(shown).toHaveLength(7);
    expect(shown.at(-1)?.requests).toBe(5);
  });
  it('keeps every day from the first with traffic, and all thirty when the first has it', () => {
    expect(fromFirstTraffic(fillDays(dates, [day(dates[10], { requests: 1 })]))).toHaveLength(20);
    expect(fromFirstTraffic(fillDays(dates, [day(dates[0], { requests: 1 })]))).toHaveLength(30);
    expect(fromFirstTraffic(fillDays(dates, []))).toHaveLength(7);
  });
});

describe('niceMax', () => {
  it('rounds up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 1, 2, 3, 7, 10, 11, 99, 101, 1234, 50_001].map(niceMax)).toEqual([
      1, 1, 2, 5, 10, 10, 20, 100, 200, 2000, 100_000,
    ]);
  });
});

describe('chartGeometry', () => {
  const days = [
    day('2026-03-01', {}),
    day('2026-03-02', { requests: 80, allowed: 60, rate_limited: 20 }),
    day('2026-03-03', { requests: 40, allowed: 30, backend_5xx: 10 }),
  ];
  const g = chartGeometry(days, 600, 160);

  it('scales the value axis to a round maximum at or above the tallest bar', () => {
    expect(g.max).toBe(100);
    expect(g.ticks.map((t) => t.value)).toEqual([0, 50, 100]);
    expect(g.ticks.map((t) => t.y)).toEqual([160, 80, 0]);
  });

  it('stacks each day bottom up, one part per series with traffic, proportional to its value', () => {
    expect(g.bars[0].parts).toEqual([]);
    expect(g.bars[1].parts).toEqual([
      { series: 'allowed', value: 60, y: 64, height: 96 },
      { series: 'rate_limited', value: 20, y: 32, height: 32 },
    ]);
    expect(g.bars[2].parts.map((p) => p.series)).toEqual(['allowed', 'backend_5xx']);
    expect(g.bars[1].title).toBe('2026-03-02: 80 requests; 60 Allowed, 20 Rate-limited');
  });

  it('gives each day an equal slot, the bar centred in it, and labels the first, middle and last day', () => {
    expect(g.bars.map((b) => b.x + b.width / 2)).toEqual([100, 300, 500]);
    expect(g.labels).toEqual(['2026-03-01', '2026-03-02', '2026-03-03']);
    expect(g.totals).toMatchObject({ allowed: 90, rate_limited: 20, backend_5xx: 10, unauthorized: 0 });
  });

  it('keeps a lone day a bar of bounded width', () => {
    const one = chartGeometry([days[1]], 600, 160);
    expect(one.bars[0].width).toBe(60);
    expect(one.bars[0].x).toBe(270);
  });
});
