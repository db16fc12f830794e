// An isolate's demand on one counter (./lease-wallet): requests per second over a sliding second, from two
// fixed one-second buckets, plus the requests waiting for a lease.

const DEMAND_BUCKET_MS = 1000;

export type Demand = { bucketStart: number; current: number; previous: number; pending: number };

/** Sliding one-second rate from two fixed buckets; also rolls the buckets forward. */
export function demandRate(d: Demand, nowMs: number): number {
  const elapsed = nowMs - d.bucketStart;
  if (elapsed >= 2 * DEMAND_BUCKET_MS) {
    d.previous = 0;
    d.current = 0;
    d.bucketStart = nowMs;
  } else if (elapsed >= DEMAND_BUCKET_MS) {
    d.previous = d.current;
    d.current = 0;
    d.bucketStart += DEMAND_BUCKET_MS;
  } else if (elapsed < 0) {
    // The isolate clock stepped back: start over rather than weigh a bucket from the future.
    d.bucketStart = nowMs;
  }
  const weight = 1 - (nowMs - d.bucketStart) / DEMAND_BUCKET_MS;
  return d.previous * weight + d.current;
}
