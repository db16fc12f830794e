import type { Context } from 'hono';
import { byteCounter } from '../core/http/byte-counter';
import type { TenantHostMatch } from '../core/http/host';
import { type RateLimitPolicy, rateLimitHeaders } from '../core/limits/ratelimit-headers';
import { now as clockNow } from '../core/time/clock';
import type { UsageCounts } from '../core/usage/usage-counts';
import { requestUsage } from '../core/usage/usage-outcome';
import { isDatabaseUnavailable } from '../db/unavailable';
import { ApiError } from '../errors';
import { type Authenticated, authenticateRequest } from './authenticate';
import { forwardToInstance } from './forward';
import { admit, counterIds, STALE, withRateLimitHeaders } from './limit';
import { notInstalledResponse } from './not-installed';
import type { PageEnv } from './pages/env';
import { type ResolvedTenant, resolveTenantFromHost } from './resolve';
import { countUsage } from './usage-batch';

const NO_COUNTERS: string[] = [];
// A gate that answers with a newer snapshot each time it is asked is changing faster than we can follow.
const MAX_SNAPSHOT_ROUNDS = 3;

/**
 * The data plane: host → tenant status → key + scope → limits → forward. The host has been resolved once
 * (`resolved`); a snapshot the gate finds out of date is resolved again.
 */
export async function handleTenantRequest(
  c: Context<PageEnv>,
  first: { match: TenantHostMatch; url: URL; resolved: ResolvedTenant },
): Promise<Response> {
  const { env, executionCtx: ctx } = c;
  const { match, url } = first;
  let { resolved } = first;
  let request = c.req.raw;
  let admitted = false;
  let policies: RateLimitPolicy[] = [];
  // Counted for the key that authenticated the request (its id once known), else for the tenant alone.
  let keyId: string | null = null;
  const count = (counts: Partial<UsageCounts>) =>
    countUsage(env, ctx, { tenantId: resolved.snapshot.record.id, keyId }, counts);
  try {
    for (let round = 1; ; round++) {
      const { snapshot } = resolved;
      const { record } = snapshot;
      // Decided on the cached snapshot; admit() confirms it is current before any of it is answered.
      let refusal: unknown = null;
      let auth: Authenticated | null = null;
      try {
        if (record.status === 'suspended') {
          throw new ApiError('tenant_suspended', `Tenant ${record.slug} is suspended`);
        }
        if (record.status === 'active') {
          auth = await authenticateRequest(
            snapshot,
            request.method,
            url.pathname,
            request.headers,
            clockNow(),
          );
        }
      } catch (err) {
        refusal = err;
      }
      keyId = auth?.key?.id ?? null;
      const admission = await admit(env, ctx, snapshot, auth ? counterIds(snapshot, auth.key) : NO_COUNTERS);
      if (admission === STALE) {
        if (round === MAX_SNAPSHOT_ROUNDS) {
          throw new ApiError('limiter_unavailable', `Tenant ${record.slug} is changing; try again`);
        }
        resolved = await resolveTenantFromHost(env, match);
        continue;
      }
      if (refusal) throw refusal;
      if (record.status === 'pending' || !auth) {
        const page = await notInstalledResponse(c, record);
        count(requestUsage(page.status, { admitted }));
        return page;
      }
      admitted = true;
      policies = admission;
      const length = request.headers.get('content-length');
      const bytesIn = Number(length) || 0;
      if (request.body && length === null) {
        request = new Request(request, {
          body: request.body.pipeThrough(byteCounter((n) => count({ bytes_in: n }))),
        });
      }
      const response = await forwardToInstance({
        request,
        url,
        host: c.get('host'),
        requestId: c.get('requestId'),
        resolved,
        auth,
      });
      return withRateLimitHeaders(meterResponse(response, bytesIn, count), policies);
    }
  } catch (err) {
    const status = err instanceof ApiError ? err.status : isDatabaseUnavailable(err) ? 503 : 500;
    count(requestUsage(status, { admitted, code: err instanceof ApiError ? err.code : undefined }));
    // Every answer to an admitted request of a limited tenant carries its RateLimit headers.
    const headers = rateLimitHeaders(policies);
    if (headers && err instanceof ApiError) {
      throw new ApiError(err.code, err.message, err.details, { ...err.headers, ...headers });
    }
    throw err;
  }
}

/** Counts the answer; bytes out from Content-Length, or counted as the body streams when it has none. */
function meterResponse(response: Response, bytesIn: number, count: (c: Partial<UsageCounts>) => void) {
  const counts = { ...requestUsage(response.status, { admitted: true }), bytes_in: bytesIn };
  const length = response.headers.get('content-length');
  if (!response.body || length !== null) {
    count({ ...counts, bytes_out: response.body ? Number(length) || 0 : 0 });
    return response;
  }
  count(counts);
  const body = response.body.pipeThrough(byteCounter((n) => count({ bytes_out: n })));
  return new Response(body, response);
}
