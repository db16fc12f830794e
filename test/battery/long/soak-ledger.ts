// The soak's bookkeeping: what each tenant was answered, by minute window, and the limits it had when.
// Kept apart from the test so the window arithmetic can be read (and checked) on its own.

const MINUTE_MS = 60_000;

/** A tenant's per-minute limits in order: each in force from `from` (when its PATCH was sent). */
export type Timeline = { from: number; answeredAt: number; limit: number }[];

/**
 * The most a window may admit: the largest limit in force at any moment of it. A limit is in force from
 * the moment its change was sent until one lease (`graceMs`) after the next change was answered — a
 * raise may be used at once, a cut may take a lease to arrive, and either way the window never holds more
 * than the larger of the two.
 */
export function windowBound(timeline: Timeline, window: number, graceMs: number): number {
  const start = window * MINUTE_MS;
  const end = start + MINUTE_MS;
  let bound = 0;
  timeline.forEach((entry, i) => {
    const next = timeline[i + 1];
    const until = next ? next.answeredAt + graceMs : Number.POSITIVE_INFINITY;
    if (entry.from < end && until > start) bound = Math.max(bound, entry.limit);
  });
  return bound;
}

export function soakReport() {
  const admitted = new Map<string, Map<number, number>>();
  const totals = { requests: 0, admitted: 0, limited: 0, unauthorized: 0, other: 0 };
  const latencies: number[] = [];
  return {
    /** One answer; an admitted one is booked to its minute window only when it surely fell in it. */
    count(tenantId: string, status: number, sentAt: number, doneAt: number) {
      totals.requests++;
      latencies.push(doneAt - sentAt);
      if (status === 429) totals.limited++;
      else if (status === 401) totals.unauthorized++;
      else if (status !== 200) totals.other++;
      if (status !== 200) return;
      totals.admitted++;
      const window = Math.floor(sentAt / MINUTE_MS);
      // Sent in one window and answered in the next: admitted in either, so it proves nothing either way.
      if (window !== Math.floor(doneAt / MINUTE_MS)) return;
      const windows = admitted.get(tenantId) ?? new Map<number, number>();
      admitted.set(tenantId, windows);
      windows.set(window, (windows.get(window) ?? 0) + 1);
    },
    admittedByWindow(tenantId: string): Map<number, number> {
      return admitted.get(tenantId) ?? new Map();
    },
    totals: () => ({ ...totals }),
    /** Latency percentiles in ms, for the summary. */
    latency() {
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
    },
  };
}
