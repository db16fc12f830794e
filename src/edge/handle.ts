import type { Context } from 'hono';
import { STALE_REFUSE_MS } from '../core/feed/isolate-cursor';
import { byteCounter } from '../core/http/byte-counter';
import { type RateLimitPolicy, rateLimitHeaders } from '../core/limits/ratelimit-headers';
import { now as clockNow } from '../core/time/clock';
import type { UsageCounts } from '../core/usage/usage-counts';
import { requestUsage } from '../core/usage/usage-outcome';
import { isDatabaseUnavailable } from '../db/unavailable';
import { ApiError } from '../errors';
import { authenticateRequest } from './authenticate';
import { forwardToInstance } from './forward';
import { unconfirmedFor } from './freshness';
import { admit, requestCounters, withRateLimitHeaders } from './limit';
import { notInstalledResponse } from './not-installed';
import type { PageEnv } from './pages/env';
import type { ResolvedTenant } from './resolve';
import { countUsage } from './usage-batch';

/**
 * The data plane: host → tenant status → key + scope → limits → forward. The host has been resolved once
 * (`resolved`), on a snapshot the ChangeFeed has confirmed (./freshness) unless the feed is unreachable.
 */
export async function handleTenantRequest(
  c: Context<PageEnv>,
  first: { url: URL; resolved: ResolvedTenant },
): Promise<Response> {
  const { env, executionCtx: ctx } = c;
  const { url, resolved } = first;
  const { snapshot } = resolved;
  const { record } = snapshot;
  let request = c.req.raw;
  const fields = c.get('fields');
  let admitted = false;
  let policies: RateLimitPolicy[] = [];
  // A shadow limit would have refused it (it passes, counted as would_limit).
  let wouldLimit = false;
  // Counted for the key that authenticated the request (its id once known), else for the tenant alone.
  let keyId: string | null = null;
  const count = (counts: Partial<UsageCounts>) =>
    countUsage(env, ctx, { tenantId: record.id, keyId }, counts);
  try {
    if (record.limits?.on_stale === 'refuse' && unconfirmedFor(clockNow()) > STALE_REFUSE_MS) {
      throw new ApiError('limiter_unavailable', `Tenant ${record.slug} cannot confirm its configuration now`);
    }
    if (record.status === 'suspended') {
      throw new ApiError('tenant_suspended', `Tenant ${record.slug} is suspended`);
    }
    if (record.status === 'pending') {
      const page = await notInstalledResponse(c, record);
      count(requestUsage(page.status, { admitted }));
      return page;
    }
    const auth = await authenticateRequest(snapshot, request.method, url.pathname, fields, clockNow());
    keyId = auth.key?.id ?? null;
    const admission = await admit(env, ctx, snapshot, requestCounters(snapshot, auth.key));
    policies = admission.policies;
    wouldLimit = admission.wouldLimit;
    admitted = true;
    const length = fields.get('content-length');
    const bytesIn = Number(length) || 0;
    if (request.body && length === null) {
      request = new Request(request, {
        body: request.body.pipeThrough(byteCounter((n) => count({ bytes_in: n }))),
      });
    }
    const response = await forwardToInstance({
      request,
      fields,
      url,
      host: c.get('host'),
      requestId: c.get('requestId'),
      resolved,
      auth,
    });
    return withRateLimitHeaders(meterResponse(response, { bytesIn, wouldLimit }, count), policies);
  } catch (err) {
    const status = err instanceof ApiError ? err.status : isDatabaseUnavailable(err) ? 503 : 500;
    count(
      requestUsage(status, { admitted, wouldLimit, code: err instanceof ApiError ? err.code : undefined }),
    );
    // Every answer to an admitted request of a limited tenant carries its RateLimit headers.
    const headers = rateLimitHeaders(policies);
    if (headers && err instanceof ApiError) {
      throw new ApiError(err.code, err.message, err.details, { ...err.headers, ...headers });
    }
    throw err;
  }
}

/** Counts the answer; bytes out from Content-Length, or counted as the body streams when it has none. */
function meterResponse(
  response: Response,
  request: { bytesIn: number; wouldLimit: boolean },
  count: (c: Partial<UsageCounts>) => void,
) {
  const counts = {
    ...requestUsage(response.status, { admitted: true, fromBackend: true, wouldLimit: request.wouldLimit }),
    bytes_in: request.bytesIn,
  };
  const length = response.headers.get('content-length');
  if (!response.body || length !== null) {
    count({ ...counts, bytes_out: response.body ? Number(length) || 0 : 0 });
    return response;
  }
  count(counts);
  const body = response.body.pipeThrough(byteCounter((n) => count({ bytes_out: n })));
  return new Response(body, response);
}
