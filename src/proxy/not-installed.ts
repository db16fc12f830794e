import type { Context } from 'hono';
import { serveInstallPageInstead } from '../console/pages';
import type { TenantRecord } from '../db/snapshot-query';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

/**
 * What a pending tenant's host answers: a short page for browsers, `409 tenant_not_installed` for API
 * clients. The page is the install form (src/console), with this status.
 */
export function notInstalledResponse(c: Context<AppEnv>, record: TenantRecord): Response | Promise<Response> {
  if (!c.req.header('accept')?.includes('text/html')) {
    throw new ApiError('tenant_not_installed', `Tenant ${record.slug} is not installed yet`);
  }
  return serveInstallPageInstead(c, record);
}
