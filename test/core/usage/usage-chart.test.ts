import { describe, expect, it } from 'vitest';
import {
  chartGeometry,
  fillDays,
  lastDays,
  niceMax,
  type UsageDay,
} from '../../../src/core/usage/usage-chart';

describe('lastDays', () => {
  it('lists the UTC dates ending today, oldest first', () => {
    const now = Date.parse('2026-03-02T23:59:59Z');
    expect(lastDays(now, 3)).toEqual(['2026-02-28', '2026-03-01', '2026-03-02']);
    expect(lastDays(now, 30)).toHaveLength(30);
    expect(lastDays(now, 30)[0]).toBe('2026-02-01');
  });
});

describe('fillDays', () => {
  it('keeps rows by date and fills the gaps with zeros', () => {
    const row: UsageDay = { date: '2026-03-01', requests: 5, allowed: 4, rate_limited: 1 };
    expect(fillDays(['2026-02-28', '2026-03-01'], [row])).toEqual([
      { date: '2026-02-28', requests: 0, allowed: 0, rate_limited: 0 },
      row,
    ]);
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
  const days: UsageDay[] = [
    { date: '2026-03-01', requests: 0, allowed: 0, rate_limited: 0 },
    { date: '2026-03-02', requests: 80, allowed: 60, rate_limited: 20 },
    { date: '2026-03-03', requests: 40, allowed: 40, rate_limited: 0 },
  ];
  const g = chartGeometry(days, 640, 220);

  it('scales the value axis to a round maximum', () => {
    expect(g.max).toBe(100);
    expect(g.yTicks.map((t) => t.value)).toEqual([0, 50, 100]);
    expect(g.yTicks[0].y).toBe(g.plot.bottom);
    expect(g.yTicks[2].y).toBe(g.plot.top);
  });

  it('spreads the days across the plot, first at the left edge and last at the right', () => {
    expect(g.points.map((p) => p.x)).toEqual([g.plot.left, (g.plot.left + g.plot.right) / 2, g.plot.right]);
    expect(g.xLabels.map((l) => l.date)).toEqual(['2026-03-01', '2026-03-02', '2026-03-03']);
  });

  it('places each value proportionally between the bottom and the top', () => {
    const height = g.plot.bottom - g.plot.top;
    expect(g.points[1].y.requests).toBeCloseTo(g.plot.bottom - 0.8 * height, 1);
    expect(g.points[1].y.rate_limited).toBeCloseTo(g.plot.bottom - 0.2 * height, 1);
    expect(g.lines.allowed.split(' ')).toHaveLength(3);
    expect(g.lines.requests.split(' ')[0]).toBe(`${g.plot.left},${g.plot.bottom}`);
  });

  it('draws a flat line on the axis when there is no traffic', () => {
    const empty = chartGeometry(fillDays(lastDays(Date.now(), 30), []));
    expect(empty.max).toBe(1);
    expect(new Set(empty.points.map((p) => p.y.requests))).toEqual(new Set([empty.plot.bottom]));
    expect(empty.xLabels).toHaveLength(3);
  });
});
