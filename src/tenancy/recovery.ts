// Recovery links for a tenant's admin (DESIGN.md `POST /v1/tenants/:tenant/recovery`): made by an operator
// (control API, dashboard), spent once from the tenant's own host, where it signs the admin in to the
// console. Stored as SHA-256 only; the making and the use are each audited, never with the token. Nothing
// the data plane decides changes, so no version bump and no feed append.
import { and, asc, eq, gt, isNull } from 'drizzle-orm';
import { newId } from '../core/crypto/ids';
import { generateSecret, sha256Hex } from '../core/crypto/secrets';
import { RECOVERY_TOKEN_TTL_MS } from '../core/tenancy/recovery';
import { now as clockNow } from '../core/time/clock';
import type { Queryable } from '../db/queryable';
import { apiKeys, recoveryTokens, tenantAdmins } from '../db/schema';
import type { TenantView } from '../db/tenants';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { loadTenantView } from './tenant-placement';
import { gatewayPageUrl, type TenantHosts } from './tenant-urls';
import { runWrite, type Writer } from './writer';

export const RECOVERY_PATH = '/_gateway/console/recover';

export function invalidRecoveryToken(): ApiError {
  return new ApiError('invalid_recovery_token', 'The recovery link is wrong, used or expired');
}

/** The link itself, on the tenant's console host. */
export function recoveryUrl(view: TenantView, hosts: TenantHosts, token: string) {
  return gatewayPageUrl(view, hosts, `${RECOVERY_PATH}?token=${token}`);
}

/** How the console names the operator who made a link: the key's name then (the key may go later). */
async function operatorName(db: Queryable, actor: string): Promise<string> {
  if (actor === 'admin') return 'ADMIN_API_KEY';
  const [key] = await db.select({ name: apiKeys.name }).from(apiKeys).where(eq(apiKeys.id, actor));
  return key?.name ?? actor;
}

/**
 * A new recovery link for the tenant's admin (the account made at installation), valid 15 minutes; any
 * earlier unused one stops working. `409 tenant_not_installed` while the tenant has no admin.
 */
export function issueRecoveryLink(w: Writer, tenantId: string) {
  return runWrite(w, async (tx) => {
    const view = await loadTenantView(tx, tenantId);
    const [admin] = await tx
      .select({ id: tenantAdmins.id, email: tenantAdmins.email })
      .from(tenantAdmins)
      .where(eq(tenantAdmins.tenantId, tenantId))
      .orderBy(asc(tenantAdmins.createdAt))
      .limit(1);
    if (!admin) {
      const message = `Tenant ${view.tenant.slug} has no admin account to recover: it was never installed`;
      throw new ApiError('tenant_not_installed', message);
    }
    await tx
      .delete(recoveryTokens)
      .where(and(eq(recoveryTokens.tenantId, tenantId), isNull(recoveryTokens.usedAt)));
    const by = w.by();
    const token = generateSecret('gwr_', 40);
    const now = clockNow();
    const row = {
      id: newId('rtk'),
      tenantId,
      adminId: admin.id,
      tokenHash: await sha256Hex(token),
      createdBy: by.actor,
      createdByName: await operatorName(tx, by.actor),
      expiresAt: new Date(now + RECOVERY_TOKEN_TTL_MS),
      createdAt: new Date(now),
    };
    await tx.insert(recoveryTokens).values(row);
    await writeAudit(tx, by, {
      tenantId,
      resource: 'recovery_token',
      resourceId: row.id,
      action: 'create',
      after: { admin_id: admin.id, admin_email: admin.email, expires_at: row.expiresAt.toISOString() },
    });
    return { token, expiresAt: row.expiresAt, view };
  });
}

/**
 * Spends a recovery token of this tenant (checked and spent in one statement, so of two uses racing exactly
 * one wins) and answers the admin it signs in; `403 invalid_recovery_token` for a wrong, used, expired or
 * another tenant's token. Audited with the admin as actor and the operator key that made the link.
 */
export function redeemRecoveryToken(w: Writer, tenantId: string, tokenHash: string) {
  return runWrite(w, async (tx) => {
    const now = new Date(clockNow());
    const [used] = await tx
      .update(recoveryTokens)
      .set({ usedAt: now })
      .where(
        and(
          eq(recoveryTokens.tokenHash, tokenHash),
          eq(recoveryTokens.tenantId, tenantId),
          isNull(recoveryTokens.usedAt),
          gt(recoveryTokens.expiresAt, now),
        ),
      )
      .returning();
    if (!used) throw invalidRecoveryToken();
    const [admin] = await tx
      .update(tenantAdmins)
      .set({ lastLoginAt: now })
      .where(eq(tenantAdmins.id, used.adminId))
      .returning({
        id: tenantAdmins.id,
        email: tenantAdmins.email,
        sessionEpoch: tenantAdmins.sessionEpoch,
      });
    await writeAudit(
      tx,
      { actor: admin.id, requestId: w.requestId },
      {
        tenantId,
        resource: 'recovery_token',
        resourceId: used.id,
        action: 'use',
        after: { created_by: used.createdBy, used_at: now.toISOString() },
      },
    );
    return admin;
  });
}
