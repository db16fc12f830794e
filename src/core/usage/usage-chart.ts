// The usage charts of the tenant console and the operator dashboard: one stacked bar per UTC day whose parts
// split the day's requests by what became of them, drawn as inline SVG by the pages.
import type { UsageCounts } from './usage-counts';

/**
 * What became of a request, each counted in exactly one: served by the backend without an error (2xx/3xx);
 * refused by a limit (rate or quota); refused for its key (401, or 403 for a scope); the backend's own 4xx
 * and 5xx; and the gateway's other refusals and failures (a dead upstream's 502, a 504, a suspended tenant's
 * 403, 503s), so that a 502 of a dead upstream is never "allowed".
 */
export const SERIES = [
  'allowed',
  'rate_limited',
  'unauthorized',
  'backend_4xx',
  'backend_5xx',
  'gateway_errors',
] as const;
export type SeriesName = (typeof SERIES)[number];
export type UsageDay = { date: string; requests: number } & Record<SeriesName, number>;

export const SERIES_LABELS: Record<SeriesName, string> = {
  allowed: 'Allowed',
  rate_limited: 'Rate-limited',
  unauthorized: 'Unauthorized',
  backend_4xx: 'Backend 4xx',
  backend_5xx: 'Backend 5xx',
  gateway_errors: 'Gateway errors',
};

export type ChartCounts = Pick<
  UsageCounts,
  | 'requests'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'unauthorized'
  | 'status_2xx'
  | 'status_3xx'
  | 'status_4xx'
  | 'status_5xx'
  | 'backend_4xx'
  | 'backend_5xx'
>;

/** One day's counters as the chart's series. */
export function chartDay(date: string, c: ChartCounts): UsageDay {
  const limited = c.rate_limited + c.quota_exceeded;
  const gateway4xx = c.status_4xx - c.backend_4xx - c.unauthorized - limited;
  return {
    date,
    requests: c.requests,
    allowed: c.status_2xx + c.status_3xx,
    rate_limited: limited,
    unauthorized: c.unauthorized,
    backend_4xx: c.backend_4xx,
    backend_5xx: c.backend_5xx,
    gateway_errors: Math.max(0, gateway4xx) + Math.max(0, c.status_5xx - c.backend_5xx),
  };
}

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
  const zero = (date: string): UsageDay => ({
    date,
    requests: 0,
    ...(Object.fromEntries(SERIES.map((s) => [s, 0])) as Record<SeriesName, number>),
  });
  return dates.map((date) => byDate.get(date) ?? zero(date));
}

/**
 * The days worth drawing: from the first with traffic (at least `min` days, so one day of data is one bar
 * among a week, not a sliver at the right edge of thirty empty ones).
 */
export function fromFirstTraffic(days: UsageDay[], min = 7): UsageDay[] {
  const first = days.findIndex((d) => d.requests > 0);
  const start = first === -1 ? days.length - min : Math.min(first, days.length - min);
  return days.slice(Math.max(0, start));
}

/** The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1). */
export function niceMax(value: number): number {
  if (!(value > 1)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

export type Bar = {
  date: string;
  x: number;
  width: number;
  /** Bottom to top; parts of zero height are left out. */
  parts: { series: SeriesName; value: number; y: number; height: number }[];
  title: string;
};

export type ChartGeometry = {
  width: number;
  height: number;
  /** The top of the value axis: a round number at or above the tallest bar. */
  max: number;
  /** Value and height of each grid line (0, half, max). */
  ticks: { value: number; y: number }[];
  bars: Bar[];
  /** The dates under the chart: first, middle and last. */
  labels: string[];
  totals: Record<SeriesName, number>;
};

const round = (n: number) => Math.round(n * 100) / 100;
const plain = new Intl.NumberFormat('en');

/**
 * Stacked bars over the whole `width` × `height`: the pages put the axis labels outside the SVG, in HTML, so
 * the SVG may stretch to any width and its text never shrinks with it.
 */
export function chartGeometry(days: UsageDay[], width = 600, height = 160): ChartGeometry {
  const totalOf = (d: UsageDay) => SERIES.reduce((sum, s) => sum + d[s], 0);
  const max = niceMax(Math.max(0, ...days.map(totalOf)));
  const slot = days.length > 0 ? width / days.length : width;
  const barWidth = Math.min(slot * 0.7, 60);
  const bars = days.map((day, i) => {
    let top = height;
    const parts = SERIES.filter((s) => day[s] > 0).map((series) => {
      const h = (day[series] / max) * height;
      top -= h;
      return { series, value: day[series], y: round(top), height: round(h) };
    });
    const said = SERIES.filter((s) => day[s] > 0).map((s) => `${plain.format(day[s])} ${SERIES_LABELS[s]}`);
    return {
      date: day.date,
      x: round(i * slot + (slot - barWidth) / 2),
      width: round(barWidth),
      parts,
      title: `${day.date}: ${plain.format(day.requests)} requests${said.length ? `; ${said.join(', ')}` : ''}`,
    };
  });
  const middle = days[Math.floor((days.length - 1) / 2)]?.date;
  const labels =
    days.length > 2 ? [days[0].date, middle, days[days.length - 1].date] : days.map((d) => d.date);
  const totals = Object.fromEntries(SERIES.map((s) => [s, days.reduce((sum, d) => sum + d[s], 0)])) as Record<
    SeriesName,
    number
  >;
  return {
    width,
    height,
    max,
    ticks: [0, max / 2, max].map((value) => ({ value, y: round(height - (value / max) * height) })),
    bars,
    labels,
    totals,
  };
}
