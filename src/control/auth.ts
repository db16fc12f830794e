// Who is calling the control API: the bootstrap ADMIN_API_KEY, an operator key, or a tenant's admin key.

import { eq, or } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { failsKeyChecksum } from '../core/crypto/key-secret';
import { sha256Hex, timingSafeEqual } from '../core/crypto/secrets';
import { readCredential } from '../core/http/credential';
import type { Actor } from '../core/tenancy/actor';
import { canGrantTenantScope, hasScope } from '../core/tenancy/scopes';
import { now as clockNow } from '../core/time/clock';
import { apiKeys, tenants } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { actorOf } from '../tenancy/actor';

// last_used_at is for display: written at most once a minute per key, not on every call.
const LAST_USED_RESOLUTION_MS = 60_000;

/** Route middleware: sets `actor`, or answers 401 / 403. Every actor is an operator or a tenant admin. */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const credential = readCredential(c.req.raw.headers);
  if (!credential) {
    throw new ApiError('missing_api_key', 'An API key is required (Authorization: Bearer … or X-API-Key)');
  }
  const adminKey = c.env.ADMIN_API_KEY;
  if (adminKey && timingSafeEqual(credential.secret, adminKey)) {
    c.set('actor', { id: 'admin', scopes: ['*'], tenant: null });
    return next();
  }
  // A typo in a checksummed secret is refused before any lookup (the admin key, of any shape, came first).
  if (failsKeyChecksum(credential.secret)) {
    throw new ApiError('invalid_api_key', 'The API key is not valid');
  }
  const db = await useDatabase(c);
  const [row] = await db
    .select({ key: apiKeys, slug: tenants.slug })
    .from(apiKeys)
    .leftJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(eq(apiKeys.keyHash, await sha256Hex(credential.secret)));
  const now = clockNow();
  const expired = row?.key.expiresAt && row.key.expiresAt.getTime() <= now;
  // A tenant key whose tenant is gone (the join found no slug) must never pass as an operator key.
  if (!row || row.key.revokedAt || expired || (row.key.tenantId && !row.slug)) {
    throw new ApiError('invalid_api_key', 'The API key is not valid');
  }
  const { key } = row;
  const actor: Actor = {
    id: key.id,
    scopes: key.scopes,
    tenant: key.tenantId ? { id: key.tenantId, slug: row.slug ?? '' } : null,
  };
  // Operator keys: `admin` (or `*`) for everything, `read` for every GET; tenant keys: `tenant:admin`.
  const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
  const allowed = actor.tenant
    ? hasScope(key.scopes, 'tenant:admin')
    : hasScope(key.scopes, 'admin') || (reading && hasScope(key.scopes, 'read'));
  if (!allowed) throw insufficientScope();
  if (!key.lastUsedAt || now - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db
      .update(apiKeys)
      .set({ lastUsedAt: new Date(now) })
      .where(eq(apiKeys.id, key.id));
  }
  c.set('actor', actor);
  return next();
};

export function insufficientScope(): ApiError {
  return new ApiError('insufficient_scope', 'This API key may not do this');
}

export function notFound(what: string): ApiError {
  return new ApiError('not_found', `No such ${what}`);
}

/** Route middleware after `authenticate`: tenant keys get 403 on operator-only routes. */
export const operatorOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (actorOf(c).tenant) throw insufficientScope();
  return next();
};

export type TenantRow = typeof tenants.$inferSelect;

/**
 * The tenant `:tenant` (id or slug) names, as this actor may see it. A tenant key naming any other tenant
 * gets 404 exactly as for a tenant that does not exist; naming its own tenant on a route it may not use,
 * 403.
 */
export async function tenantFor(
  c: Context<AppEnv>,
  idOrSlug: string,
  opts: { tenantAdmin: boolean },
): Promise<TenantRow> {
  const actor = actorOf(c);
  if (actor.tenant) {
    if (idOrSlug !== actor.tenant.id && idOrSlug !== actor.tenant.slug) throw notFound('tenant');
    if (!opts.tenantAdmin) throw insufficientScope();
  }
  const db = await useDatabase(c);
  const [tenant] = await db
    .select()
    .from(tenants)
    .where(or(eq(tenants.id, idOrSlug), eq(tenants.slug, idOrSlug)));
  if (!tenant || (actor.tenant && tenant.id !== actor.tenant.id)) throw notFound('tenant');
  return tenant;
}

/** A tenant key hands out its tenant's scopes: any of them with `tenant:admin`, else only those it holds. */
export function checkGrantable(actor: Actor, scopes: string[]) {
  if (actor.tenant && !scopes.every((s) => canGrantTenantScope(actor.scopes, s))) throw insufficientScope();
}
