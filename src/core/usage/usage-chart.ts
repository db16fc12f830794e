// Geometry of the console's usage chart: one point per UTC day, three series, drawn as inline SVG.

export type UsageDay = { date: string; requests: number; allowed: number; rate_limited: number };
export const SERIES = ['requests', 'allowed', 'rate_limited'] as const;
export type SeriesName = (typeof SERIES)[number];

export type ChartGeometry = {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  /** The top of the value axis: a round number at or above the largest value. */
  max: number;
  yTicks: { value: number; y: number }[];
  xLabels: { date: string; x: number }[];
  /** SVG `points` per series, oldest day first. */
  lines: Record<SeriesName, string>;
  /** Each day's x and values, for hover titles. */
  points: (UsageDay & { x: number; y: Record<SeriesName, number> })[];
};

const DAY_MS = 86_400_000;

/** The `count` UTC dates ending with `today`'s, oldest first, as `YYYY-MM-DD`. */
export function lastDays(now: number, count: number): string[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return Array.from({ length: count }, (_, i) =>
    new Date(today - (count - 1 - i) * DAY_MS).toISOString().slice(0, 10),
  );
}

/** One entry per date, zeros for days without a row. */
export function fillDays(dates: string[], rows: UsageDay[]): UsageDay[] {
  const byDate = new Map(rows.map((row) => [row.date, row]));
  return dates.map((date) => byDate.get(date) ?? { date, requests: 0, allowed: 0, rate_limited: 0 });
}

/** The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1). */
export function niceMax(value: number): number {
  if (!(value > 1)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

const round = (n: number) => Math.round(n * 10) / 10;

export function chartGeometry(days: UsageDay[], width = 640, height = 220): ChartGeometry {
  const plot = { left: 48, top: 12, right: width - 12, bottom: height - 28 };
  const max = niceMax(Math.max(0, ...days.map((d) => d.requests), ...days.map((d) => d.allowed)));
  const step = days.length > 1 ? (plot.right - plot.left) / (days.length - 1) : 0;
  const xOf = (i: number) => round(plot.left + i * step);
  const yOf = (value: number) => round(plot.bottom - (Math.min(value, max) / max) * (plot.bottom - plot.top));
  const points = days.map((day, i) => ({
    ...day,
    x: xOf(i),
    y: { requests: yOf(day.requests), allowed: yOf(day.allowed), rate_limited: yOf(day.rate_limited) },
  }));
  const lines = Object.fromEntries(
    SERIES.map((name) => [name, points.map((p) => `${p.x},${p.y[name]}`).join(' ')]),
  ) as Record<SeriesName, string>;
  const labelled = days.length > 1 ? [0, Math.floor((days.length - 1) / 2), days.length - 1] : [0];
  return {
    width,
    height,
    plot,
    max,
    yTicks: [0, max / 2, max].map((value) => ({ value, y: yOf(value) })),
    xLabels: days.length ? labelled.map((i) => ({ date: days[i].date, x: xOf(i) })) : [],
    lines,
    points,
  };
}
