// Key writes shared by the control API and the tenant console. Each bumps the tenant's version and writes its
// audit row in its own transaction; the caller then calls the data plane's `tenantChanged` (edge), so the
// change takes effect there at once.
import { and, eq, isNull } from 'drizzle-orm';
import type { Context } from 'hono';
import { generateSecret, keyPrefix, sha256Hex } from '../core/crypto/secrets';
import { apiKeys, auditLog } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { useDatabase } from '../request-database';
import { auditRow } from './audit';
import { toKeyJson } from './key-schemas';

type KeyRow = typeof apiKeys.$inferSelect;

/** Revokes a tenant key: the API's and the console's way. */
export async function revokeTenantKey(c: Context<AppEnv>, tenantId: string, before: KeyRow): Promise<void> {
  const db = await useDatabase(c);
  await db.transaction(async (tx) => {
    const [after] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.id, before.id))
      .returning();
    await bumpTenantVersions(tx, [tenantId]);
    await tx.insert(auditLog).values(
      auditRow(c, {
        tenantId,
        resource: 'key',
        resourceId: before.id,
        action: 'revoke',
        before: toKeyJson(before),
        after: toKeyJson(after),
      }),
    );
  });
}

/** Gives a live tenant key a new secret, shown once; the old secret stops working with the version bump. */
export async function rotateTenantKey(
  c: Context<AppEnv>,
  tenantId: string,
  before: KeyRow,
): Promise<{ after: KeyRow; secret: string }> {
  const secret = generateSecret('gw_', 40);
  const db = await useDatabase(c);
  const after = await db.transaction(async (tx) => {
    const [rotated] = await tx
      .update(apiKeys)
      .set({ keyHash: await sha256Hex(secret), prefix: keyPrefix(secret), lastUsedAt: null })
      .where(and(eq(apiKeys.id, before.id), isNull(apiKeys.revokedAt)))
      .returning();
    if (!rotated) throw new ApiError('conflict', 'A revoked key cannot be rotated');
    await bumpTenantVersions(tx, [tenantId]);
    await tx.insert(auditLog).values(
      auditRow(c, {
        tenantId,
        resource: 'key',
        resourceId: before.id,
        action: 'rotate',
        before: toKeyJson(before),
        after: toKeyJson(rotated),
      }),
    );
    return rotated;
  });
  return { after, secret };
}
