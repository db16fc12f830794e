// The usage counters of one tenant (or key) and day, as the isolates count them and usage_daily stores them.

export const USAGE_FIELDS = [
  'requests',
  'allowed',
  'rate_limited',
  'quota_exceeded',
  'would_limit',
  'unauthorized',
  'status_2xx',
  'status_3xx',
  'status_4xx',
  'status_5xx',
  'backend_4xx',
  'backend_5xx',
  'bytes_in',
  'bytes_out',
] as const;
export type UsageCounts = Record<(typeof USAGE_FIELDS)[number], number>;
/** Usage by UTC date `YYYY-MM-DD`. */
export type UsageDelta = Record<string, UsageCounts>;

export function emptyUsage(): UsageCounts {
  return Object.fromEntries(USAGE_FIELDS.map((f) => [f, 0])) as UsageCounts;
}

export function mergeUsage(a: UsageDelta, b: UsageDelta): UsageDelta {
  const out: UsageDelta = {};
  for (const delta of [a, b]) {
    for (const [date, counts] of Object.entries(delta)) addCounts(out, date, counts);
  }
  return out;
}

export function addCounts(into: UsageDelta, date: string, counts: Partial<UsageCounts>): void {
  let day = into[date];
  if (!day) {
    day = emptyUsage();
    into[date] = day;
  }
  for (const f of USAGE_FIELDS) day[f] += counts[f] ?? 0;
}

export type UsageField = (typeof USAGE_FIELDS)[number];

/** Adds `counts` to `into` field by field; a zero or what is not a finite number adds nothing. */
export function addUsage(into: Partial<UsageCounts>, counts: Partial<UsageCounts>): void {
  for (const f of USAGE_FIELDS) {
    const n = counts[f];
    if (typeof n === 'number' && Number.isFinite(n) && n !== 0) into[f] = (into[f] ?? 0) + n;
  }
}

/** The counters that are not zero: what a usage message carries. */
export function nonZero(counts: Partial<UsageCounts>): Partial<UsageCounts> {
  const out: Partial<UsageCounts> = {};
  addUsage(out, counts);
  return out;
}
