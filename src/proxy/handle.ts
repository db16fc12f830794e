import type { Context } from 'hono';
import type { HostMatch } from '../core/host';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { authenticateRequest } from './authenticate';
import { forwardToInstance } from './forward';
import { resolveTenantFromHost } from './resolve';

/** The data plane: host → tenant status → key + scope → forward. */
export async function handleTenantRequest(
  c: Context<AppEnv>,
  match: Extract<HostMatch, { kind: 'tenant' }>,
): Promise<Response> {
  const request = c.req.raw;
  const url = new URL(request.url);
  const resolved = await resolveTenantFromHost(c.env, c.executionCtx, match);
  const { record } = resolved.snapshot;
  if (record.status === 'suspended') {
    throw new ApiError(403, 'tenant_suspended', `Tenant ${record.slug} is suspended`);
  }
  if (record.status === 'pending') {
    throw new ApiError(409, 'tenant_not_installed', `Tenant ${record.slug} is not installed yet`);
  }
  // The gateway's own path space on every tenant host: never forwarded.
  if (url.pathname === '/_gateway' || url.pathname.startsWith('/_gateway/')) {
    throw new ApiError(404, 'not_found', 'No such gateway page');
  }
  const auth = await authenticateRequest(
    resolved.snapshot,
    request.method,
    url.pathname,
    request.headers,
    Date.now(),
  );
  return forwardToInstance({
    request,
    url,
    host: c.get('host'),
    requestId: c.get('requestId'),
    resolved,
    auth,
  });
}
