// Changing a live tenant key in place (the console's key editing): its name, scopes, own rate limit and expiry.
// One transaction with the version bump and the audit row, then the writer's `tenantChanged`, like the other
// key writes (./keys.ts), so the data plane applies the change on the next request.
import { and, eq, isNull } from 'drizzle-orm';
import { now as clockNow } from '../core/time/clock';
import { apiKeys, type RateLimit, tenants } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { ApiError, type ErrorDetail } from '../errors';
import { writeAudit } from './audit';
import { toKeyJson } from './key-schemas';
import type { Writer } from './writer';

type KeyRow = typeof apiKeys.$inferSelect;

export type KeyChange = {
  name: string;
  scopes: string[];
  rateLimit: RateLimit | null;
  expiresAt: Date | null;
};

const LIMIT_FIELDS = ['requests_per_minute', 'requests_per_day'] as const;

/** Why `change` cannot be made under the tenant's own limit: a key's limit may only narrow it. */
function problems(change: KeyChange, tenantLimit: RateLimit | null, before: KeyRow): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const field of LIMIT_FIELDS) {
    const mine = change.rateLimit?.[field];
    const cap = tenantLimit?.[field];
    if (mine != null && cap != null && mine > cap)
      details.push({ path: `rate_limit.${field}`, message: `must not exceed the tenant's ${cap}` });
  }
  const unchangedExpiry = change.expiresAt?.getTime() === before.expiresAt?.getTime();
  if (change.expiresAt && !unchangedExpiry && change.expiresAt.getTime() <= clockNow())
    details.push({ path: 'expires_at', message: 'expires_at must be in the future' });
  return details;
}

/** `422` when the change breaks a rule, `409 conflict` when the key was revoked meanwhile. */
export async function updateTenantKey(
  w: Writer,
  tenantId: string,
  before: KeyRow,
  change: KeyChange,
): Promise<KeyRow> {
  const after = await w.db.transaction(async (tx) => {
    const [tenant] = await tx
      .select({ rateLimit: tenants.rateLimit })
      .from(tenants)
      .where(eq(tenants.id, tenantId));
    if (!tenant) throw new ApiError('not_found', 'No such tenant');
    const details = problems(change, tenant.rateLimit, before);
    if (details.length > 0) throw new ApiError('validation_failed', 'The request is not valid', details);
    const [updated] = await tx
      .update(apiKeys)
      .set(change)
      .where(and(eq(apiKeys.id, before.id), eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
      .returning();
    if (!updated) throw new ApiError('conflict', 'A revoked key cannot be changed');
    await bumpTenantVersions(tx, [tenantId]);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'key',
      resourceId: before.id,
      action: 'update',
      before: toKeyJson(before),
      after: toKeyJson(updated),
    });
    return updated;
  });
  w.tenantChanged(tenantId);
  return after;
}
