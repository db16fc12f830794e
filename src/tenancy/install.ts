// The install itself: one transaction that spends the token (single use, checked and spent in one
// statement), activates the tenant, stores its admin, makes its first tenant:admin key, writes the
// `tenant.installed` event to the outbox and the audit row (the new admin its actor); once committed, it
// tells the writer's `tenantChanged`.
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { newId } from '../core/crypto/ids';
import { now } from '../core/time/clock';
import { writeTenantEvent } from '../db/events';
import { createApiKey } from '../db/keys';
import type { Queryable } from '../db/queryable';
import { installTokens, tenantAdmins, tenants } from '../db/schema';
import { selectTenantViews } from '../db/tenants';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { toKeyJson } from './key-schemas';
import { runWrite, type Writer } from './writer';

export function invalidInstallToken(): ApiError {
  return new ApiError('invalid_install_token', 'The install token is wrong, used or expired');
}

export function alreadyInstalled(slug: string): ApiError {
  return new ApiError('conflict', `Tenant ${slug} is already installed`);
}

// Expiry is judged by the gateway's clock, which set it (db/install-tokens), as a recovery link's is.
function liveToken(tenantId: string, tokenHash: string) {
  return and(
    eq(installTokens.tokenHash, tokenHash),
    eq(installTokens.tenantId, tenantId),
    isNull(installTokens.usedAt),
    gt(installTokens.expiresAt, new Date(now())),
  );
}

/** A cheap look before the expensive password hash: wrong guesses never cost a PBKDF2 run. */
export async function isLiveInstallToken(db: Queryable, tenantId: string, tokenHash: string) {
  const [row] = await db
    .select({ id: installTokens.id })
    .from(installTokens)
    .where(liveToken(tenantId, tokenHash));
  return row !== undefined;
}

export async function installTenant(
  w: Writer,
  pending: { id: string; slug: string },
  input: { tokenHash: string; email: string; passwordHash: string },
) {
  const tenantId = pending.id;
  const installed = await runWrite(w, async (tx, changed) => {
    // Of two installs racing with one token, the second waits on this row and then finds it used.
    const [token] = await tx
      .update(installTokens)
      .set({ usedAt: sql`now()` })
      .where(liveToken(tenantId, input.tokenHash))
      .returning({ id: installTokens.id });
    if (!token) throw invalidInstallToken();
    const [tenant] = await tx
      .update(tenants)
      .set({ status: 'active', version: sql`${tenants.version} + 1`, updatedAt: sql`now()` })
      .where(and(eq(tenants.id, tenantId), eq(tenants.status, 'pending')))
      .returning();
    if (!tenant) throw alreadyInstalled(pending.slug);
    const adminId = newId('adm');
    await tx
      .insert(tenantAdmins)
      .values({ id: adminId, tenantId, email: input.email, passwordHash: input.passwordHash });
    const created = await createApiKey(tx, { tenantId, name: 'tenant admin', scopes: ['tenant:admin'] });
    await writeTenantEvent(tx, 'tenant.installed', tenant);
    await writeAudit(
      tx,
      { actor: adminId, requestId: w.requestId },
      {
        tenantId,
        resource: 'tenant',
        resourceId: tenantId,
        action: 'install',
        before: { status: 'pending' },
        after: { status: 'active', admin: { id: adminId, email: input.email }, key: toKeyJson(created.key) },
      },
    );
    changed(tenantId);
    return { adminId, ...created };
  });
  const [view] = await selectTenantViews(w.db).where(eq(tenants.id, tenantId));
  return {
    adminId: installed.adminId,
    view,
    key: toKeyJson(installed.key),
    secret: installed.secret,
  };
}
