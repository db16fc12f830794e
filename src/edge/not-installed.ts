import type { Context } from 'hono';
import type { TenantRecord } from '../db/snapshot-query';
import { ApiError } from '../errors';
import type { PageEnv } from './pages/env';
import { installPageInstead } from './pages/pages';

/**
 * What a pending tenant's host answers: a short page for browsers, `409 tenant_not_installed` for API
 * clients. The page is the install form (src/edge/pages), with this status.
 */
export function notInstalledResponse(
  c: Context<PageEnv>,
  record: TenantRecord,
): Response | Promise<Response> {
  if (!c.req.header('accept')?.includes('text/html')) {
    throw new ApiError('tenant_not_installed', `Tenant ${record.slug} is not installed yet`);
  }
  c.set('tenant', record);
  return installPageInstead(c);
}
