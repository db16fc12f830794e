import type { UsageCounts } from './usage-counts';

/**
 * What one answered request adds to its tenant's usage. `allowed` means the limiter admitted it (whatever
 * the upstream then said); `unauthorized` is a missing or invalid key (401) or a key without the scope
 * (403 insufficient_scope); the status classes count every answer the client got, the gateway's own
 * refusals included, so `requests` is their sum (101 Switching Protocols counts in none); `backend_4xx` and
 * `backend_5xx` only answers that came from the backend (`fromBackend`), so a 502 or 504 of the gateway's
 * own is a 5xx but no backend error.
 */
export function requestUsage(
  status: number,
  outcome: { admitted: boolean; code?: string; fromBackend?: boolean; wouldLimit?: boolean },
): Partial<UsageCounts> {
  const counts: Partial<UsageCounts> = { requests: 1 };
  if (outcome.admitted) counts.allowed = 1;
  if (outcome.code === 'rate_limited') counts.rate_limited = 1;
  if (outcome.code === 'quota_exceeded') counts.quota_exceeded = 1;
  if (outcome.wouldLimit) counts.would_limit = 1;
  if (status === 401 || outcome.code === 'insufficient_scope') counts.unauthorized = 1;
  const statusClass = Math.floor(status / 100);
  if (statusClass === 2) counts.status_2xx = 1;
  else if (statusClass === 3) counts.status_3xx = 1;
  else if (statusClass === 4) counts.status_4xx = 1;
  else if (statusClass === 5) counts.status_5xx = 1;
  if (outcome.fromBackend && statusClass === 4) counts.backend_4xx = 1;
  if (outcome.fromBackend && statusClass === 5) counts.backend_5xx = 1;
  return counts;
}
