// Key writes shared by the control API, the tenant console and config apply. Each runs in its own
// transaction (a savepoint of the caller's, if the writer's db is one); a tenant key's write bumps the
// tenant's version and, once committed, tells the writer's `tenantChanged`, so the change takes effect on
// the data plane at once.
import { and, eq, isNull } from 'drizzle-orm';
import { generateSecret, keyPrefix, sha256Hex } from '../core/crypto/secrets';
import { createApiKey, type NewApiKey } from '../db/keys';
import { apiKeys } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { toKeyJson } from './key-schemas';
import type { Writer } from './writer';

type KeyRow = typeof apiKeys.$inferSelect;

/** Makes a key (a tenant's, or an operator's with `tenantId: null`) and returns it with its secret, shown once. */
export async function createKey(w: Writer, input: NewApiKey): Promise<{ key: KeyRow; secret: string }> {
  const { tenantId } = input;
  const created = await w.db.transaction(async (tx) => {
    const result = await createApiKey(tx, input);
    if (tenantId !== null) await bumpTenantVersions(tx, [tenantId]);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'key',
      resourceId: result.key.id,
      action: 'create',
      after: toKeyJson(result.key),
    });
    return result;
  });
  if (tenantId !== null) w.tenantChanged(tenantId);
  return created;
}

/** Revokes a tenant key: the API's and the console's way. */
export async function revokeTenantKey(w: Writer, tenantId: string, before: KeyRow): Promise<void> {
  await w.db.transaction(async (tx) => {
    const [after] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.id, before.id))
      .returning();
    await bumpTenantVersions(tx, [tenantId]);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'key',
      resourceId: before.id,
      action: 'revoke',
      before: toKeyJson(before),
      after: toKeyJson(after),
    });
  });
  w.tenantChanged(tenantId);
}

/** Gives a live tenant key a new secret, shown once; the old secret stops working with the version bump. */
export async function rotateTenantKey(
  w: Writer,
  tenantId: string,
  before: KeyRow,
): Promise<{ after: KeyRow; secret: string }> {
  const secret = generateSecret('gw_', 40);
  const after = await w.db.transaction(async (tx) => {
    const [rotated] = await tx
      .update(apiKeys)
      .set({ keyHash: await sha256Hex(secret), prefix: keyPrefix(secret), lastUsedAt: null })
      .where(and(eq(apiKeys.id, before.id), isNull(apiKeys.revokedAt)))
      .returning();
    if (!rotated) throw new ApiError('conflict', 'A revoked key cannot be rotated');
    await bumpTenantVersions(tx, [tenantId]);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'key',
      resourceId: before.id,
      action: 'rotate',
      before: toKeyJson(before),
      after: toKeyJson(rotated),
    });
    return rotated;
  });
  w.tenantChanged(tenantId);
  return { after, secret };
}

/** Revokes an operator key; revoking twice is not an error (the first revocation time stays). 404 if none. */
export async function revokeOperatorKey(w: Writer, id: string): Promise<void> {
  await w.db.transaction(async (tx) => {
    const [before] = await tx
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.tenantId)))
      .for('update');
    if (!before) throw new ApiError('not_found', 'No such key');
    if (before.revokedAt) return;
    const [after] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.id, id))
      .returning();
    await writeAudit(tx, w.by(), {
      tenantId: null,
      resource: 'key',
      resourceId: id,
      action: 'revoke',
      before: toKeyJson(before),
      after: toKeyJson(after),
    });
  });
}
