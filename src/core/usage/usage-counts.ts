// The counters of a tenant's (or a key's) usage on one UTC day, as usage_daily and usage_key_daily hold them
// and the usage API answers them (DESIGN.md "Usage").

export const USAGE_FIELDS = [
  'requests',
  'allowed',
  'rate_limited',
  'quota_exceeded',
  'unauthorized',
  'status_2xx',
  'status_3xx',
  'status_4xx',
  'status_5xx',
  'bytes_in',
  'bytes_out',
] as const;

export type UsageField = (typeof USAGE_FIELDS)[number];
export type UsageCounts = Record<UsageField, number>;

export function emptyUsage(): UsageCounts {
  return Object.fromEntries(USAGE_FIELDS.map((f) => [f, 0])) as UsageCounts;
}

/** Adds `counts` to `into` field by field; what is not a finite number adds nothing. */
export function addUsage(into: Partial<UsageCounts>, counts: Partial<UsageCounts>): void {
  for (const f of USAGE_FIELDS) {
    const n = counts[f];
    if (typeof n === 'number' && Number.isFinite(n) && n !== 0) into[f] = (into[f] ?? 0) + n;
  }
}

/** The counters that are not zero: what a message carries. */
export function nonZero(counts: Partial<UsageCounts>): Partial<UsageCounts> {
  const out: Partial<UsageCounts> = {};
  addUsage(out, counts);
  return out;
}
