import type { Context } from 'hono';
import type { TenantRecord } from '../../db/snapshot-query';
import type { AppEnv } from '../../env';

/** A signed-in tenant admin, as the console pages see them. */
export type ConsoleSession = {
  token: string;
  /** Put in every form; see core/crypto/session. */
  csrf: string;
  admin: { id: string; email: string };
  /** When the cookie was signed (Unix ms): a session signed after a recovery link may set a new password. */
  issuedAt: number;
};

/**
 * The tenant-host app's context: the worker's, plus the tenant the host resolved to and, on the pages, the
 * admin's session. Optional, so that helpers taking the worker's context (tenancy's writes) accept it too.
 */
export type PageEnv = {
  Bindings: AppEnv['Bindings'];
  Variables: AppEnv['Variables'] & { tenant?: TenantRecord; session?: ConsoleSession };
};

/** The tenant whose host this is (set by the tenant-host app before any page runs). */
export function tenantOf(c: Context<PageEnv>): TenantRecord {
  const tenant = c.get('tenant');
  if (!tenant) throw new Error('the gateway pages run for a resolved tenant only');
  return tenant;
}
