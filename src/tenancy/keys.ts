// Key writes shared by the control API, the tenant console and config apply. Each runs in its own
// transaction (`runWrite`: a savepoint of the caller's, if the writer's db is one); a tenant key's write
// bumps the tenant's version and, once committed, tells the writer's `tenantChanged`, so the change takes
// effect on the data plane at once.
import { and, eq, isNull } from 'drizzle-orm';
import { newKeySecret } from '../core/crypto/key-secret';
import { keyPrefix, sha256Hex } from '../core/crypto/secrets';
import { createApiKey, type NewApiKey } from '../db/keys';
import type { Transaction } from '../db/queryable';
import { apiKeys, type RateLimit } from '../db/schema';
import { bumpTenantVersions } from '../db/tenants';
import { ApiError } from '../errors';
import { writeAudit } from './audit';
import { toKeyJson } from './key-schemas';
import { runWrite, type Writer } from './writer';

type KeyRow = typeof apiKeys.$inferSelect;

/** Makes a key (a tenant's, or an operator's with `tenantId: null`) and returns it with its secret, shown once. */
export function createKey(w: Writer, input: NewApiKey): Promise<{ key: KeyRow; secret: string }> {
  const { tenantId } = input;
  return runWrite(w, async (tx, changed) => {
    const result = await createApiKey(tx, input);
    if (tenantId !== null) {
      await bumpTenantVersions(tx, [tenantId]);
      changed(tenantId);
    }
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'key',
      resourceId: result.key.id,
      action: 'create',
      after: toKeyJson(result.key),
    });
    return result;
  });
}

/**
 * A change to one of a tenant's keys, `before` as it was: `change` writes and returns the row after; then the
 * tenant's version bump and the audit row, and after commit `tenantChanged`.
 */
function changeTenantKey(
  w: Writer,
  tenantId: string,
  before: KeyRow,
  action: 'update' | 'revoke' | 'rotate',
  change: (tx: Transaction) => Promise<KeyRow>,
): Promise<KeyRow> {
  return runWrite(w, async (tx, changed) => {
    const after = await change(tx);
    await bumpTenantVersions(tx, [tenantId]);
    await writeAudit(tx, w.by(), {
      tenantId,
      resource: 'key',
      resourceId: before.id,
      action,
      before: toKeyJson(before),
      after: toKeyJson(after),
    });
    changed(tenantId);
    return after;
  });
}

/** Revokes a tenant key: the API's, the console's and config apply's way. */
export async function revokeTenantKey(w: Writer, tenantId: string, before: KeyRow): Promise<void> {
  await changeTenantKey(w, tenantId, before, 'revoke', async (tx) => {
    const [after] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(eq(apiKeys.id, before.id))
      .returning();
    return after;
  });
}

/** A tenant key's new scopes, expiry and limit (config apply's update of a declared key). */
export function updateTenantKey(
  w: Writer,
  tenantId: string,
  before: KeyRow,
  fields: { scopes: string[]; expiresAt: Date | null; rateLimit: RateLimit | null },
): Promise<KeyRow> {
  return changeTenantKey(w, tenantId, before, 'update', async (tx) => {
    const [after] = await tx.update(apiKeys).set(fields).where(eq(apiKeys.id, before.id)).returning();
    return after;
  });
}

/** Gives a live tenant key a new secret, shown once; the old secret stops working with the version bump. */
export async function rotateTenantKey(
  w: Writer,
  tenantId: string,
  before: KeyRow,
): Promise<{ after: KeyRow; secret: string }> {
  const secret = newKeySecret();
  const after = await changeTenantKey(w, tenantId, before, 'rotate', async (tx) => {
    const [rotated] = await tx
      .update(apiKeys)
      .set({ keyHash: await sha256Hex(secret), prefix: keyPrefix(secret), lastUsedAt: null })
      .where(and(eq(apiKeys.id, before.id), isNull(apiKeys.revokedAt)))
      .returning();
    if (!rotated) throw new ApiError('conflict', 'A revoked key cannot be rotated');
    return rotated;
  });
  return { after, secret };
}

/** Revokes an operator key; revoking twice is not an error (the first revocation time stays). 404 if none. */
export async function revokeOperatorKey(w: Writer, id: string): Promise<void> {
  await runWrite(w, async (tx) => {
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
